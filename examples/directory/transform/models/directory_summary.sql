-- A few numbers that tell whether a load looks right: entries per stream, entries
-- below each organizational unit (its whole subtree), and users who are in no group.

with entries as (
    select dn from {{ source('directory', 'users') }}
    union all
    select dn from {{ source('directory', 'groups') }}
    union all
    select dn from {{ source('directory', 'organizational_units') }}
    union all
    select dn from {{ source('directory', 'other') }}
),

per_stream as (
    select 'users' as subject, count(*) as entries from {{ source('directory', 'users') }}
    union all
    select 'groups', count(*) from {{ source('directory', 'groups') }}
    union all
    select 'organizational_units', count(*) from {{ source('directory', 'organizational_units') }}
    union all
    select 'other', count(*) from {{ source('directory', 'other') }}
),

-- An entry is below an OU when its DN ends with ",<the OU's DN>".
per_ou as (
    select ou.dn as subject, count(e.dn) as entries
    from {{ source('directory', 'organizational_units') }} as ou
    left join entries as e
        on substr(lower(e.dn), -length(ou.dn) - 1) = ',' || lower(ou.dn)
    group by ou.dn
),

users_without_group as (
    select 'users' as subject, count(*) as entries
    from {{ source('directory', 'users') }} as u
    where not exists (
        select 1 from {{ ref('group_membership') }} as gm
        where lower(gm.member_dn) = lower(u.dn)
    )
)

select 'entries_per_stream' as measure, subject, entries from per_stream
union all
select 'entries_per_ou', subject, entries from per_ou
union all
select 'users_without_group', subject, entries from users_without_group
