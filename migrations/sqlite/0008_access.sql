-- 0008_access: API tokens with roles, and the audit log of what people did through /api.
--
-- A token is kept only as the SHA-256 digest of its text (the text is shown once, when it
-- is created). `prefix` is its first characters, enough to tell tokens apart in a list.
-- A revoked token keeps its row, so the audit log can still name it.
CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  mask_text INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  created_by TEXT,
  last_used_at INTEGER,
  revoked_at INTEGER
);

-- One row per action; never updated. `id` is the cursor of `GET /api/audit`.
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  detail TEXT
);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);

-- What the business's own sending code says it sent (POST /api/outbound), one row per
-- message id. Kept apart from the projections: a message's status rows and this record meet
-- by id when read, so a status that arrived first is matched when the record comes, and the
-- record costs the pipeline nothing. `tags` is a JSON array of at most 20 short strings.
CREATE TABLE outbound_messages (
  message_id TEXT PRIMARY KEY,
  recipient TEXT,
  business_number TEXT,
  template_name TEXT,
  template_language TEXT,
  text TEXT,
  biz_opaque_callback_data TEXT,
  tags TEXT,
  sent_at BIGINT,
  recorded_at BIGINT NOT NULL,
  recorded_by TEXT NOT NULL
);

-- Search (GET /api/search): one document per message, contact, template and outbound record,
-- written by an indexer that follows the events table by `seq` after the pipeline has
-- recorded them (`search_cursor`), so recording an event costs nothing more. `search_docs`
-- gives each (kind, ref) a stable rowid; `search_fts` (FTS5) holds the words under it.
CREATE TABLE search_docs (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  ref TEXT NOT NULL,
  title TEXT NOT NULL,
  at INTEGER NOT NULL,
  UNIQUE (kind, ref)
);
CREATE VIRTUAL TABLE search_fts USING fts5(body, tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE search_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
INSERT INTO search_cursor (id, seq) VALUES (1, 0);
