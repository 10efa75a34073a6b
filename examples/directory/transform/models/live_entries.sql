-- The entries the directory holds now, one row per DN.
-- tap-ldif keys every record by its DN's normal form (RFC 4514: lower case, no
-- spaces around separators; written_dn keeps the DN as written). The pipeline
-- sets apply_changes: true, so the tap applies the LDIF change records
-- (changetype add, delete, modify, modrdn) in order to the entries read before
-- them, and the entry streams hold every entry as it is after them: an added
-- entry has its row, a renamed one its row under the new DN, and a deleted
-- entry's DN (or a renamed one's old DN) a delete record, which takes the place
-- of the entry's row (same stream, same key). So an entry is live when its row
-- is an entry, not a delete record. The `changes` table keeps every change
-- record as an event; it is not needed here. (Without apply_changes, change
-- records reach only `changes`, and these models would not see them.)
-- A warehouse loaded with changes_stream: false (the tap's default before
-- 2026-12-07) may also hold delete records in `other` for entries of another
-- stream: a delete record of the DN at least as new as the entry removes it too.
-- DNs are compared in lower case: LDAP does not care about the case of a DN.

with loaded as (
    select 'users' as stream, dn, change_type, modify_timestamp from {{ source('directory', 'users') }}
    union all
    select 'groups', dn, change_type, modify_timestamp from {{ source('directory', 'groups') }}
    union all
    select 'organizational_units', dn, change_type, modify_timestamp
    from {{ source('directory', 'organizational_units') }}
    union all
    select 'other', dn, change_type, modify_timestamp from {{ source('directory', 'other') }}
),

deletions as (
    select lower(dn) as dn_key, julianday(modify_timestamp) as deleted_at
    from loaded
    where change_type = 'delete'
)

select l.stream, l.dn, l.modify_timestamp
from loaded as l
where coalesce(l.change_type, 'add') = 'add'
    and not exists (
        select 1 from deletions as d
        where d.dn_key = lower(l.dn)
            and d.deleted_at >= julianday(l.modify_timestamp)
    )
