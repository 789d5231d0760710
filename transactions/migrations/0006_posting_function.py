"""On PostgreSQL, a customer movement is posted by one function call: `ledger_post`.

The SQL engine (settings.LEDGER_ENGINE = "sql", transactions/sql_posting.py) calls it once per
deposit, withdrawal or transfer, in autocommit: one round trip and one commit do what the Python
engine (transactions/services.py) does in about a dozen statements, so the accounts' row locks
are held for the function's own work only, never for Python's. The two engines are one ledger:
the same checks in the same order, the same error codes and messages, the same rows (transaction,
entries in leg order, balances, the idempotent answer, the audit event and its chain link). The
money test suite runs against both on PostgreSQL, with a differential property test
(transactions/tests/test_engines_differential.py); a rule changed in one is changed in the other
in the same commit.

Steps, in order:
1. the user, when the caller did not load it (atm_project/authentication.py):
   `ledger_user_is_valid`, which the balance read shares;
2. the Idempotency-Key claim, in the movement's own transaction: a racing duplicate waits on the
   unique index until this commits, then replays the answer; a claim left in progress by a
   Python-engine worker is taken over once older than the claim timeout;
3. the accounts, locked in primary-key order: the account acted on and the transfer's target, or
   the bank's cash sub-account of the account's shard (accounts.models.CASH_SUBACCOUNTS);
4. every check, under the locks;
5. the writes: transaction, entries, balances, the completed claim (a reference to the posted
   transaction: its rendering is the answer), and the event on the account's audit chain, keyed
   with the HMAC key passed in (it is never stored in the database).

A refusal raises SQLSTATE LE001 with the error code as message and the detail for the client:
the whole transaction, claim included, rolls back.
"""

from django.db import migrations

from atm_project.migration_sql import postgresql_sql

CREATE = """
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- A refusal: the error code (transactions/sql_posting.py maps it to a domain error) and what the
-- client is told.
CREATE FUNCTION ledger_refuse(code text, detail text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'LE001', MESSAGE = code, DETAIL = detail;
END;
$$;

-- Whether the user a customer's access token names may still act: it exists, is active, and the
-- token was issued under its current password (simplejwt's revocation claim, an upper-case MD5
-- of the password hash). The posting checks it, and so does the balance read
-- (transactions.selectors.balance_of), each inside its one statement.
CREATE FUNCTION ledger_user_is_valid(user_id bigint, revocation_claim text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM users_user person
         WHERE person.id = user_id AND person.is_active
           AND upper(md5(person.password)) = revocation_claim
    )
$$;

-- One field of an account-chain MAC message (audit/services.py): its length in bytes, a colon
-- and the text, or "-" for null.
CREATE FUNCTION audit_mac_field(value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IS NULL THEN '-' ELSE octet_length(value)::text || ':' || value END
$$;

-- Append an event to an account's audit chain: lock the chain's head row (only this account's
-- movements share it), link and key the event exactly as audit.services.account_chain_mac does,
-- move the head.
CREATE FUNCTION audit_append_to_chain(
    chain_name text, action text, actor_id bigint, object_type text, object_id text,
    ip text, user_agent text, request_id text, data jsonb, at timestamptz, mac_key text
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    seq bigint;
    prev_hash text;
    data_text text;
    mac text;
BEGIN
    SELECT head.last_seq, head.last_hash INTO seq, prev_hash
      FROM audit_auditchain head WHERE head.name = chain_name FOR UPDATE;
    IF NOT FOUND THEN
        -- A new chain (or a flushed test database): its row starts from the chain's last event,
        -- as audit.services._locked_chain does; a concurrent first writer's row wins.
        INSERT INTO audit_auditchain (name, last_seq, last_hash, anchored_seq)
        SELECT chain_name, coalesce(max(event.seq), 0),
               coalesce((array_agg(event.hash ORDER BY event.seq DESC))[1], repeat('0', 64)), 0
          FROM audit_auditevent event WHERE event.chain = chain_name
        ON CONFLICT (name) DO NOTHING;
        SELECT head.last_seq, head.last_hash INTO seq, prev_hash
          FROM audit_auditchain head WHERE head.name = chain_name FOR UPDATE;
    END IF;
    seq := seq + 1;
    SELECT coalesce(string_agg(audit_mac_field(item.key) || '=' || audit_mac_field(item.value),
                               ',' ORDER BY item.key COLLATE "C"), '')
      INTO data_text FROM jsonb_each_text(data) item;
    mac := encode(hmac(convert_to('account-chain-v1,' || concat_ws(',',
        audit_mac_field(chain_name), audit_mac_field(seq::text), audit_mac_field(prev_hash),
        audit_mac_field(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00'),
        audit_mac_field(action), audit_mac_field(actor_id::text), audit_mac_field(object_type),
        audit_mac_field(object_id), audit_mac_field(ip), audit_mac_field(user_agent),
        audit_mac_field(request_id), audit_mac_field(data_text)), 'UTF8'),
        convert_to(mac_key, 'UTF8'), 'sha256'), 'hex');
    INSERT INTO audit_auditevent (chain, seq, actor_id, action, object_type, object_id, ip,
                                  user_agent, request_id, data, created_at, prev_hash, hash)
    VALUES (chain_name, seq, actor_id, action, object_type, object_id, ip::inet, user_agent,
            request_id, data, at, prev_hash, mac);
    UPDATE audit_auditchain SET last_seq = seq, last_hash = mac WHERE name = chain_name;
END;
$$;

-- The Idempotency-Key claim (step 2): null when there is no key; else the claim row, either
-- this request's own (in progress, to complete) or the key's stored answer (completed).
CREATE FUNCTION ledger_claim(
    actor_id bigint, claim_key text, claim_fingerprint text, claim_timeout interval
) RETURNS transactions_idempotencykey
LANGUAGE plpgsql AS $$
DECLARE
    claim transactions_idempotencykey;
BEGIN
    IF claim_key IS NULL THEN
        RETURN NULL;
    END IF;
    -- A claim can vanish between our failed insert and our read (a Python-engine request ended
    -- in a 400 and released it): then the key is free again and we insert once more.
    FOR attempt IN 1..3 LOOP
        INSERT INTO transactions_idempotencykey
               (user_id, key, fingerprint, status, created_at, locked_at)
        VALUES (actor_id, claim_key, claim_fingerprint, 'in_progress', now(), now())
        ON CONFLICT (user_id, key) DO NOTHING
        RETURNING * INTO claim;
        IF claim.id IS NOT NULL THEN
            RETURN claim;
        END IF;
        SELECT * INTO claim FROM transactions_idempotencykey existing
         WHERE existing.user_id = actor_id AND existing.key = claim_key FOR UPDATE;
        IF claim.id IS NOT NULL THEN
            IF claim.fingerprint <> claim_fingerprint THEN
                PERFORM ledger_refuse('idempotency_key_reused',
                    'This Idempotency-Key was already used for a different request.');
            END IF;
            IF claim.status <> 'completed' AND claim.locked_at >= now() - claim_timeout THEN
                PERFORM ledger_refuse('idempotency_key_in_use',
                    'A request with this Idempotency-Key is still being processed.');
            END IF;
            -- Completed: the stored answer. Else taken over from a worker that died (its claim
            -- is old); our row lock keeps that worker, if merely slow, from completing it.
            RETURN claim;
        END IF;
    END LOOP;
    PERFORM ledger_refuse('idempotency_key_in_use',
        'A request with this Idempotency-Key is still being processed.');
END;
$$;

-- Money the account's pending, unexpired holds reserve at `at` (transactions.selectors).
CREATE FUNCTION ledger_held(held_account_id bigint, at timestamptz) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(hold.amount), 0.00) FROM transactions_hold hold
     WHERE hold.account_id = held_account_id AND hold.status = 'pending' AND hold.expires_at > at
$$;

CREATE FUNCTION ledger_require_active(account accounts_account) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF account.status <> 'active' THEN
        PERFORM ledger_refuse('account_not_active',
            format('Account %s is %s.', account.number, account.status));
    END IF;
END;
$$;

-- The available balance (balance less holds) must cover the amount.
CREATE FUNCTION ledger_require_funds(account accounts_account, amount numeric, held numeric)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF account.balance - held - amount >= 0 THEN
        RETURN;
    END IF;
    IF held <> 0 THEN
        PERFORM ledger_refuse('insufficient_funds', format(
            'Available balance %s (balance %s, %s held) is less than %s.',
            account.balance - held, account.balance, held, amount));
    END IF;
    PERFORM ledger_refuse('insufficient_funds',
        format('Balance %s is less than %s.', account.balance, amount));
END;
$$;

-- Withdrawn since the bank's midnight (reversed withdrawals excluded) + held + this one.
CREATE FUNCTION ledger_require_within_daily_limit(
    account accounts_account, amount numeric, held numeric, day_start timestamptz
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    withdrawn numeric;
BEGIN
    SELECT coalesce(-sum(entry.amount), 0.00) INTO withdrawn
      FROM transactions_entry entry
      JOIN transactions_transaction txn ON txn.id = entry.transaction_id
     WHERE entry.account_id = account.id AND entry.kind = 'withdrawal'
       AND entry.created_at >= day_start AND txn.status = 'posted';
    IF withdrawn + held + amount > account.daily_withdrawal_limit THEN
        PERFORM ledger_refuse('daily_limit_exceeded', format(
            'Withdrawn today %s%s; with %s that exceeds the daily limit of %s.',
            withdrawn, CASE WHEN held <> 0 THEN format(' and %s held', held) ELSE '' END,
            amount, account.daily_withdrawal_limit));
    END IF;
END;
$$;

-- A deposit, withdrawal or transfer, whole. `at` is the posting's time, the app server's clock
-- as for the Python engine (so both engines date postings alike, and tests can set it). `acted_on` is the customer account the request
-- names (a transfer's source), `target` a transfer's target. Answers either with the posting
-- (its id and time, and each leg's account, number and balance after) or, for a key already
-- answered, with the stored answer (`replay_status`, `replay_body`, `replay_transaction`).
CREATE FUNCTION ledger_post(
    kind text, actor_id bigint, revocation_claim text,
    acted_on text, target text, amount numeric, description text, at timestamptz,
    day_start timestamptz,
    claim_key text, claim_fingerprint text, claim_timeout interval,
    cash_subaccounts integer, mac_key text, ip text, user_agent text, request_id text,
    OUT transaction_id uuid, OUT created_at timestamptz, OUT currency text,
    OUT account_id bigint, OUT account_number text, OUT account_balance numeric,
    OUT other_id bigint, OUT other_number text, OUT other_balance numeric,
    OUT replay_status integer, OUT replay_body text, OUT replay_transaction uuid
)
LANGUAGE plpgsql AS $$
DECLARE
    claim transactions_idempotencykey;
    account accounts_account;
    other accounts_account;
    peeked_other_id bigint;
    locked accounts_account;
    held numeric := 0.00;
    delta numeric;
    is_transfer boolean := kind = 'transfer';
BEGIN
    -- 1. The user, unless the caller loaded and checked it.
    IF revocation_claim IS NOT NULL AND NOT ledger_user_is_valid(actor_id, revocation_claim) THEN
        PERFORM ledger_refuse('user_no_longer_valid', '');
    END IF;

    -- 2. The claim.
    claim := ledger_claim(actor_id, claim_key, claim_fingerprint, claim_timeout);
    IF claim.status = 'completed' THEN
        replay_status := claim.response_status;
        replay_body := claim.response_body::text;
        replay_transaction := claim.transaction_id;
        RETURN;
    END IF;

    -- 3. The locks. The account's currency and id never change, so the other row (target, or
    -- the cash sub-account of the account's shard) is found before locking both in id order.
    SELECT * INTO account FROM accounts_account a WHERE a.number = acted_on;
    IF account.id IS NULL OR account.kind = 'internal' OR account.owner_id <> actor_id THEN
        -- Someone else's account is answered exactly like a missing one: no enumeration.
        PERFORM ledger_refuse('not_found', 'No such account.');
    END IF;
    IF is_transfer THEN
        SELECT a.id INTO peeked_other_id FROM accounts_account a WHERE a.number = target;
    ELSE
        SELECT a.id INTO peeked_other_id FROM accounts_account a
         WHERE a.kind = 'internal' AND a.currency = account.currency
           AND a.cash_shard = account.id % cash_subaccounts;
        IF peeked_other_id IS NULL THEN
            RAISE EXCEPTION 'the bank has no cash sub-account % for %',
                account.id % cash_subaccounts, account.currency;
        END IF;
    END IF;
    FOR locked IN
        SELECT * FROM accounts_account a WHERE a.id IN (account.id, peeked_other_id)
         ORDER BY a.id FOR UPDATE
    LOOP
        IF locked.id = account.id THEN
            account := locked;
        ELSE
            other := locked;
        END IF;
    END LOOP;

    -- 4. The checks, in the Python engine's order.
    created_at := at;
    IF is_transfer THEN
        -- The customer's own accounts may go on to the detailed checks; anyone else's only if
        -- it can receive: one answer for every other target, telling nothing about it.
        IF other.id IS NULL OR other.kind = 'internal' OR (other.owner_id <> account.owner_id
           AND (other.status <> 'active' OR other.currency <> account.currency)) THEN
            PERFORM ledger_refuse('cannot_receive',
                'No such account, or it cannot receive this transfer.');
        END IF;
        PERFORM ledger_require_active(account);
        PERFORM ledger_require_active(other);
        IF other.currency <> account.currency THEN
            PERFORM ledger_refuse('currency_mismatch', format(
                'Account %s is in %s, account %s in %s.',
                account.number, account.currency, other.number, other.currency));
        END IF;
    ELSE
        PERFORM ledger_require_active(account);
    END IF;
    IF kind <> 'deposit' THEN
        held := ledger_held(account.id, created_at);
        PERFORM ledger_require_funds(account, amount, held);
    END IF;
    IF kind = 'withdrawal' THEN
        PERFORM ledger_require_within_daily_limit(account, amount, held, day_start);
    END IF;

    -- 5. The writes.
    delta := CASE WHEN kind = 'deposit' THEN amount ELSE -amount END;
    UPDATE accounts_account a SET balance = a.balance + delta WHERE a.id = account.id
    RETURNING a.balance INTO account_balance;
    UPDATE accounts_account a SET balance = a.balance - delta WHERE a.id = other.id
    RETURNING a.balance INTO other_balance;
    transaction_id := gen_random_uuid();
    INSERT INTO transactions_transaction (id, kind, status, amount, currency, description,
        account_id, counterparty_id, reverses_id, initiated_by_id, hold_id, created_at)
    VALUES (transaction_id, kind, 'posted', amount, account.currency, description, account.id,
        CASE WHEN is_transfer THEN other.id END, NULL, actor_id, NULL, created_at);
    -- Legs in the Python engine's order (ids ascending): the account acted on, then the other.
    -- A cash leg names no counterparty, and the customer's leg against it names none either.
    INSERT INTO transactions_entry (transaction_id, account_id, amount, balance_after, kind,
        created_at, counterparty_number)
    VALUES
        (transaction_id, account.id, delta, account_balance, kind, created_at,
         CASE WHEN is_transfer THEN other.number ELSE '' END),
        (transaction_id, other.id, -delta, other_balance, kind, created_at,
         CASE WHEN is_transfer THEN account.number ELSE '' END);
    IF claim.id IS NOT NULL THEN
        UPDATE transactions_idempotencykey answered
           SET status = 'completed', response_status = 201, response_body = NULL,
               transaction_id = ledger_post.transaction_id, locked_at = ledger_post.created_at
         WHERE answered.id = claim.id;
    END IF;
    PERFORM audit_append_to_chain(
        'account:' || account.id, 'money.' || kind, actor_id, 'transactions.transaction',
        transaction_id::text, ip, user_agent, request_id,
        jsonb_build_object(
            'amount', amount::text, 'currency', account.currency, 'account', account.number,
            'counterparty', CASE WHEN is_transfer THEN other.number ELSE '' END,
            'reverses', NULL, 'description', description),
        created_at, mac_key);
    currency := account.currency;
    account_id := account.id;
    account_number := account.number;
    other_id := other.id;
    other_number := other.number;
END;
$$;
"""

DROP = """
DROP FUNCTION ledger_post(text, bigint, text, text, text, numeric, text, timestamptz,
    timestamptz, text, text, interval, integer, text, text, text, text);
DROP FUNCTION ledger_require_within_daily_limit(accounts_account, numeric, numeric, timestamptz);
DROP FUNCTION ledger_require_funds(accounts_account, numeric, numeric);
DROP FUNCTION ledger_require_active(accounts_account);
DROP FUNCTION ledger_held(bigint, timestamptz);
DROP FUNCTION ledger_claim(bigint, text, text, interval);
DROP FUNCTION audit_append_to_chain(text, text, bigint, text, text, text, text, text, jsonb,
    timestamptz, text);
DROP FUNCTION audit_mac_field(text);
DROP FUNCTION ledger_user_is_valid(bigint, text);
DROP FUNCTION ledger_refuse(text, text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("transactions", "0005_holds"),
        ("accounts", "0006_cash_subaccount_constraints"),
        ("audit", "0004_audit_chains"),
        ("users", "0001_initial"),
    ]

    operations = [postgresql_sql(CREATE, DROP)]
