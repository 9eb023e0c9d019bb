/** Pragmas of the file's size figures: total and free pages, read from its header without a table scan. */
export const databaseHealthPageCount = 'page_count';
export const databaseHealthFreelistCount = 'freelist_count';
