"""target-oracle: Singer records into Oracle Database, upserted on their key with MERGE.

Built on singer-sdk's SQL target (``SQLTarget``, ``SQLConnector``,
``SQLSink``) and SQLAlchemy's ``oracle+oracledb`` dialect; see
the README and docs/gruponos.md ("Oracle as the target").
"""

__all__: list[str] = []
