-- Listing schedules by id prefix (one tenant's schedules: `GET /api/v1/schedules?idPrefix=tenant-7:`)
-- reads only that prefix's range. The primary key sorts ids in the database's collation, where a
-- prefix is no range (en_US and ICU weigh punctuation and case apart), so `starts_with(id, $1)` could
-- only filter a walk of the whole key. text_pattern_ops sorts bytewise: the planner turns the
-- starts_with test into a range of this index in any collation. Schedules are operator-sized, so
-- building it takes little time.
CREATE INDEX schedules_id_prefix_idx ON schedules (id text_pattern_ops);
