-- 0007_identity_coexistence: contacts by every identifier, echoes, history, handovers, ad windows.
--
-- The projection rows change shape and some events now touch rows they did not before:
-- - proj_contacts holds a row per identifier of a user: the wa_id as before, a business-scoped
--   user id (BSUID), or a username as `@name`; rows link to each other (aliases, number and
--   BSUID changes), so `GET /api/contacts/{any id}` finds the whole user.
-- - proj_messages gets business messages seen through `message.echo` and the messages of
--   `history.sync` threads; proj_conversations counts echoes as answers, and keeps the thread
--   owner (`conversation.handover`), the click-to-WhatsApp referral and its 72-hour window.
-- - Row positions are `seq * 1024 + slot` now (a history thread touches many message rows in
--   one event), no longer `seq * 4 + slot`.
--
-- None of this follows from the rows already stored, so a store that holds events is marked
-- as needing a rebuild (`bluetick rebuild`), unless it already is.
INSERT INTO proj_rebuild (id, started_at, through_seq)
SELECT 1, 0, 0 WHERE EXISTS (SELECT 1 FROM events) AND NOT EXISTS (SELECT 1 FROM proj_rebuild);
