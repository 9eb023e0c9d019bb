/** The built-in HTTP task's name; a module of its own so the CLI can name it without loading the task. */
export const HTTP_REQUEST_TASK = 'http.request';
