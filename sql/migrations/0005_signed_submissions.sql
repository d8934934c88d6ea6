-- Signed submissions (`yardstick submit --signing-key`): the submitter's
-- Ed25519 public key ("ed25519:<base64>") and its signature of the
-- definition, file name, revision and branch of this row, as
-- common/signing.hpp canonicalises them. NULL when the submission was not
-- signed. Each job's spec carries the whole signed submission too: agents
-- run with --trusted-submitters check it before they run anything.
ALTER TABLE pipelines ADD COLUMN signing_key text;
ALTER TABLE pipelines ADD COLUMN signature bytea;
