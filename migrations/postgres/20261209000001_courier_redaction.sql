-- The codes and links in a message are secrets: once the message is sent or abandoned its body is
-- replaced by a marker, and so is its subject when the subject holds one of them (redact_subject).
-- Messages already sent or abandoned are redacted now.
ALTER TABLE courier_messages ADD COLUMN redact_subject BIGINT NOT NULL DEFAULT 0;
UPDATE courier_messages SET body = '<redacted-once-sent-or-abandoned>'
    WHERE status IN ('sent', 'abandoned');
