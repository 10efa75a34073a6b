-- The entries that exist after everything loaded so far, one row per DN.
-- target-sqlite keeps the last record of each DN in its stream's table, and an
-- LDIF "changetype: delete" record has no objectClass, so it lands in `other`
-- while the entry it deletes stays in `users`, `groups`, ... An entry is live
-- unless it is a delete record, or a delete of the same DN (LDAP ignores the
-- case of a DN) is at least as new as the entry.

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
    select lower(dn) as dn_key, max(julianday(modify_timestamp)) as deleted_at
    from loaded
    where change_type = 'delete'
    group by lower(dn)
)

select l.stream, l.dn, l.modify_timestamp
from loaded as l
left join deletions as d on d.dn_key = lower(l.dn)
where coalesce(l.change_type, 'add') <> 'delete'
    and (d.deleted_at is null or julianday(l.modify_timestamp) > d.deleted_at)
