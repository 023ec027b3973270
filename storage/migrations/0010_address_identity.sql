-- One person per address (SPEC §12.3): an email (compared without case, as SQLite's lower() folds it)
-- and a phone (E.164) belong to at most one contact; unique indexes hold the rule for every writer.

-- An empty address is no address (and would otherwise be "shared" by every contact without one).
UPDATE contacts SET email = NULL WHERE trim(email) = '';
UPDATE contacts SET phone = NULL WHERE trim(phone) = '';

-- Phones as imports now store them (storage.addresses.normalize_phone): the separators people type go,
-- a Russian trunk 8 or a bare 10-digit mobile becomes +7, an international 00 becomes +. A phone in no
-- such shape is kept as written: it still identifies its contact, character for character.
UPDATE contacts
   SET phone = replace(replace(replace(replace(replace(replace(trim(phone),
               ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''), char(160), '')
 WHERE phone IS NOT NULL;
UPDATE contacts SET phone = '+7' || substr(phone, 2)
 WHERE phone GLOB '8[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]';
UPDATE contacts SET phone = '+' || phone
 WHERE phone GLOB '7[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]';
UPDATE contacts SET phone = '+7' || phone
 WHERE phone GLOB '9[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]';
UPDATE contacts SET phone = '+' || substr(phone, 3)
 WHERE phone GLOB '00[1-9]*' AND substr(phone, 3) NOT GLOB '*[^0-9]*';

-- A base imported before the rule may already hold one address under several ids. Migrating must not
-- fail on it, nor guess which record is the person: the smallest id keeps the address, every other
-- holder is marked with that id here (`ritm contact duplicates` lists them) and stays reachable under
-- the same per-address suppressions until `ritm contact merge KEEP OTHER` folds it in.
ALTER TABLE contacts ADD COLUMN shares_address_with TEXT;
DROP INDEX contacts_email;
CREATE INDEX contacts_email_any ON contacts(lower(email));
CREATE INDEX contacts_phone_any ON contacts(phone);
UPDATE contacts
   SET shares_address_with = (SELECT min(o.id) FROM contacts o
                               WHERE lower(o.email) = lower(contacts.email) AND o.id < contacts.id)
 WHERE email IS NOT NULL;
UPDATE contacts
   SET shares_address_with = (SELECT min(o.id) FROM contacts o
                               WHERE o.phone = contacts.phone AND o.id < contacts.id)
 WHERE phone IS NOT NULL AND shares_address_with IS NULL;
DROP INDEX contacts_email_any;
DROP INDEX contacts_phone_any;
CREATE UNIQUE INDEX contacts_email ON contacts(lower(email)) WHERE shares_address_with IS NULL AND email != '';
CREATE UNIQUE INDEX contacts_phone ON contacts(phone) WHERE shares_address_with IS NULL AND phone != '';
CREATE INDEX contacts_shares_address ON contacts(shares_address_with) WHERE shares_address_with IS NOT NULL;

-- Ids that now name another contact: a contact merged into another (`ritm contact merge`), or a row
-- merged by its email (`--merge-by-email`). Imports, the webhook and explain resolve them.
CREATE TABLE contact_aliases (
    id         TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    at         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX contact_aliases_contact ON contact_aliases(contact_id);
