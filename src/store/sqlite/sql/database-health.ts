/** Pragmas of the file's size figures: total and free pages, read from its header without a table scan. */
export const PAGE_COUNT = 'page_count';
export const FREELIST_COUNT = 'freelist_count';
