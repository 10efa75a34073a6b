"""The migration's LDIF writer: whatever values it is given, the product's parser reads back the same."""

from __future__ import annotations

import base64

from flext_plugin_algar.ldif_out import BaseRewrite, format_record, parent_of, split_rdns
from flext_plugin_ldif.ldif_parser import parse_ldif
from hypothesis import given, settings
from hypothesis import strategies as st

texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=120)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(texts, min_size=1, max_size=4), photo=st.binary(max_size=200))
def test_written_values_read_back_the_same(values: list[str], photo: bytes) -> None:
    text = format_record("cn=Ana Lima,ou=Vendas,dc=x", [("description", values), ("jpegphoto", [photo])])
    assert all(len(line) <= 76 for line in text.splitlines())
    [entry] = list(parse_ldif(text))
    assert entry.dn == "cn=Ana Lima,ou=Vendas,dc=x"
    read = entry.attributes["description"]
    if "description" in entry.binary:
        read = [base64.b64decode(value).decode("utf-8") for value in read]
    assert read == values
    assert [base64.b64decode(value) for value in entry.attributes["jpegphoto"]] == [photo]


def test_dns_split_and_move_as_written() -> None:
    assert split_rdns(r"cn=Lima\, Ana, ou=Vendas,dc=x") == [r"cn=Lima\, Ana", "ou=Vendas", "dc=x"]
    assert split_rdns('cn="a,b",dc=x') == ['cn="a,b"', "dc=x"]
    assert parent_of("uid=ana, ou=Vendas,dc=x") == "ou=Vendas,dc=x"
    assert parent_of("dc=x") is None
    move = BaseRewrite("dc=algar,dc=com,dc=br", "dc=algar, dc=br", "dc=algar,dc=com,dc=br")
    assert move(
        "uid=Ana,ou=Jurídico,DC=Algar, DC=com,DC=br", "uid=ana,ou=jurídico,dc=algar,dc=com,dc=br"
    ) == ("uid=Ana,ou=Jurídico,dc=algar,dc=br")
    assert move("DC=Algar,DC=com,DC=br", "dc=algar,dc=com,dc=br") == "dc=algar,dc=br"
    assert move("dc=other", "dc=other") is None
