"""GrupoNos: Oracle WMS Cloud into the warehouse database, every few minutes, as FLEXT pipelines (issue 17).

See docs/gruponos.md.
"""
