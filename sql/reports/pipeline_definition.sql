-- The pipeline file as last submitted under a name: its id, file name,
-- revision and the file's text. `yardstick bisect` starts from it.
--
--   psql "$DSN" -v pipeline_name=release-build -f sql/reports/pipeline_definition.sql
SELECT p.id        AS pipeline,
       p.file_name,
       p.revision,
       p.definition
FROM pipelines p
WHERE p.name = :'pipeline_name' AND p.bisection IS NULL
ORDER BY p.id DESC
LIMIT 1;
