-- A few numbers that tell whether a load looks right: live entries per stream,
-- entries below each organizational unit (its whole subtree), and users who are
-- in no group. Deleted entries are not counted (see live_entries).

with streams as (
    select 'users' as stream
    union all
    select 'groups'
    union all
    select 'organizational_units'
    union all
    select 'other'
),

per_stream as (
    select s.stream as subject, count(e.dn) as entries
    from streams as s
    left join {{ ref('live_entries') }} as e on e.stream = s.stream
    group by s.stream
),

-- An entry is below an OU when its DN ends with ",<the OU's DN>".
per_ou as (
    select ou.dn as subject, count(e.dn) as entries
    from {{ ref('live_entries') }} as ou
    left join {{ ref('live_entries') }} as e
        on substr(lower(e.dn), -length(ou.dn) - 1) = ',' || lower(ou.dn)
    where ou.stream = 'organizational_units'
    group by ou.dn
),

users_without_group as (
    select 'users' as subject, count(*) as entries
    from {{ ref('live_entries') }} as u
    where u.stream = 'users'
        and not exists (
            select 1 from {{ ref('group_membership') }} as gm
            where lower(gm.member_dn) = lower(u.dn)
        )
)

select 'entries_per_stream' as measure, subject, entries from per_stream
union all
select 'entries_per_ou', subject, entries from per_ou
union all
select 'users_without_group', subject, entries from users_without_group
