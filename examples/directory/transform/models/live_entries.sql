-- The entries that exist after everything loaded so far, one row per DN.
-- tap-ldif keys every record by its DN's normal form (RFC 4514: lower case, no
-- spaces around separators; written_dn keeps the DN as written) and sends LDIF
-- change records (changetype: add, delete, modify, modrdn) to the `changes`
-- stream, one row per change, while the entry streams hold the entries of the
-- exports. An entry is live unless a delete or a rename (modrdn) of its DN is
-- at least as new as the entry. A warehouse loaded with changes_stream: false
-- has its delete records in the entry streams instead (in `other`): they count
-- too. DNs are compared in lower case: LDAP does not care about the case of a DN.

{%- set changes_source = source('directory', 'changes') -%}
{%- set changes = adapter.get_relation(
    database=changes_source.database,
    schema=changes_source.schema,
    identifier=changes_source.identifier,
) if execute else none %}

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

removals as (
    select lower(dn) as dn_key, julianday(modify_timestamp) as removed_at
    from loaded
    where change_type = 'delete'
    {%- if changes is not none %}
    union all
    select lower(dn), julianday(modify_timestamp)
    from {{ changes_source }}
    where change_type in ('delete', 'modrdn')
    {%- endif %}
),

deletions as (
    select dn_key, max(removed_at) as deleted_at
    from removals
    group by dn_key
)

select l.stream, l.dn, l.modify_timestamp
from loaded as l
left join deletions as d on d.dn_key = lower(l.dn)
where coalesce(l.change_type, 'add') = 'add'
    and (d.deleted_at is null or julianday(l.modify_timestamp) > d.deleted_at)
