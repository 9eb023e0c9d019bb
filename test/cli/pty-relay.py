"""Runs a command in a real pseudo-terminal of a fixed size and relays it: the terminal's output to
this process's stdout, this process's stdin to the terminal as typed keys. Exits with the command's
exit status. Usage: pty-relay.py ROWS COLS COMMAND [ARGS...]"""
import fcntl
import os
import pty
import select
import struct
import sys
import termios

rows, cols, command = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.execvp(command[0], command)

watched = [fd, 0]
while True:
    readable, _, _ = select.select(watched, [], [])
    if fd in readable:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            break
        os.write(1, data)
    if 0 in readable:
        keys = os.read(0, 1024)
        if keys:
            os.write(fd, keys)
        else:
            watched = [fd]
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
