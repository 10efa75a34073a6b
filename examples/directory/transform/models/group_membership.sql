-- One row per member of a live group. A group's members are a JSON text array of
-- DNs; json_each turns it into rows, and members who are live users get their uid
-- and mail. DNs are compared in lower case: LDAP does not care about the case of a DN.

with live_users as (
    select u.dn, u.uid, u.mail
    from {{ source('directory', 'users') }} as u
    inner join {{ ref('live_entries') }} as e on e.dn = u.dn and e.stream = 'users'
),

live_groups as (
    select g.dn, g.cn, g.members
    from {{ source('directory', 'groups') }} as g
    inner join {{ ref('live_entries') }} as e on e.dn = g.dn and e.stream = 'groups'
)

select distinct
    g.cn as group_cn,
    g.dn as group_dn,
    m.value as member_dn,
    u.uid as member_uid,
    u.mail as member_mail
from live_groups as g
cross join json_each(coalesce(g.members, '[]')) as m
left join live_users as u
    on lower(u.dn) = lower(m.value)
