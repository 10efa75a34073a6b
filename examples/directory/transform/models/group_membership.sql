-- One row per member of a group. A group's members are a JSON text array of DNs;
-- json_each turns it into rows, and members who are users get their uid and mail.
-- DNs are compared in lower case: LDAP does not care about the case of a DN.

select distinct
    g.cn as group_cn,
    g.dn as group_dn,
    m.value as member_dn,
    u.uid as member_uid,
    u.mail as member_mail
from {{ source('directory', 'groups') }} as g
cross join json_each(coalesce(g.members, '[]')) as m
left join {{ source('directory', 'users') }} as u
    on lower(u.dn) = lower(m.value)
