"""Status lists: IETF Token Status List (``statuslist+jwt``) and W3C Bitstring Status
List v1.0, random index allocation, and the caching policy for verified lists.

Pure: callers fetch the lists, give the clock and the randomness, and persist the
allocated indices.
"""

from ._allocate import allocate_index, draw_index
from ._bitstring import (
    BITSTRING_STATUS_LIST_CREDENTIAL,
    BITSTRING_STATUS_LIST_ENTRY,
    MIN_BITSTRING_ENTRIES,
    Bitstring,
    StatusPurpose,
    check_bitstring_status,
    create_bitstring,
    create_bitstring_status_entry,
    create_bitstring_status_list_credential,
    decode_bitstring,
    encode_bitstring,
    with_bits,
)
from ._cache import StatusListCache, fresh_until
from ._token import (
    MAX_STATUS_LIST_BYTES,
    STATUS_LIST_JWT_TYP,
    StatusList,
    StatusValue,
    VerifiedStatusList,
    check_status,
    create_status_list,
    create_status_list_token,
    create_status_reference,
    decode_status_list,
    encode_status_list,
    verify_status_list_token,
    with_status,
    with_statuses,
)

__all__ = [
    "BITSTRING_STATUS_LIST_CREDENTIAL",
    "BITSTRING_STATUS_LIST_ENTRY",
    "MAX_STATUS_LIST_BYTES",
    "MIN_BITSTRING_ENTRIES",
    "STATUS_LIST_JWT_TYP",
    "Bitstring",
    "StatusList",
    "StatusListCache",
    "StatusPurpose",
    "StatusValue",
    "VerifiedStatusList",
    "allocate_index",
    "check_bitstring_status",
    "check_status",
    "create_bitstring",
    "create_bitstring_status_entry",
    "create_bitstring_status_list_credential",
    "create_status_list",
    "create_status_list_token",
    "create_status_reference",
    "decode_bitstring",
    "decode_status_list",
    "draw_index",
    "encode_bitstring",
    "encode_status_list",
    "fresh_until",
    "verify_status_list_token",
    "with_bits",
    "with_status",
    "with_statuses",
]
