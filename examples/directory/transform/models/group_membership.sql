-- One row per member of a live group, with the member's uid and mail when the
-- member is a live user. tap-ldif gives a group's members as a JSON text array
-- in `members` (the default); with group_members_stream: true they come one row
-- per (group, member) in `group_members` instead, and a row whose
-- modify_timestamp is not the group's is from an older version of the group (a
-- member removed since) and is left out. Either way the result is the same.
-- DNs are compared in lower case: LDAP does not care about the case of a DN.

{%- set members_source = source('directory', 'group_members') -%}
{%- set member_rows = adapter.get_relation(
    database=members_source.database,
    schema=members_source.schema,
    identifier=members_source.identifier,
) if execute else none %}

with live_users as (
    select u.dn, u.uid, u.mail
    from {{ source('directory', 'users') }} as u
    inner join {{ ref('live_entries') }} as e on e.dn = u.dn and e.stream = 'users'
),

live_groups as (
    select g.dn, g.cn, g.members, g.modify_timestamp
    from {{ source('directory', 'groups') }} as g
    inner join {{ ref('live_entries') }} as e on e.dn = g.dn and e.stream = 'groups'
),

members as (
    select g.cn as group_cn, g.dn as group_dn, m.value as member_dn
    from live_groups as g
    cross join json_each(coalesce(g.members, '[]')) as m
    {%- if member_rows is not none %}
    union
    select g.cn, g.dn, gm.member_dn
    from live_groups as g
    inner join {{ members_source }} as gm
        on gm.group_dn = g.dn and gm.modify_timestamp = g.modify_timestamp
    {%- endif %}
)

select distinct
    m.group_cn,
    m.group_dn,
    m.member_dn,
    u.uid as member_uid,
    u.mail as member_mail
from members as m
left join live_users as u
    on lower(u.dn) = lower(m.member_dn)
