"""Run the reference bench's seed.py, unchanged, as a product BFF.

usage: RTGW_JWT_SECRET=... python3 bench/seed_as_bff.py <seed.py> <seed.py's arguments...>

The reference seed.py mints its own token with sub "seeder" and submits every job for
requested_by.user_id "bench". Since issue 16, rtgw refuses a submit for another user unless the
token carries runtime:submit_as (403 subject_mismatch, docs/contracts/jwt.md): the seeder acts for
user "bench" as a product BFF would, so its token gets the scopes a BFF has. Nothing else about
seed.py changes: the same bodies, the same output file.
"""
import runpy
import sys

import jwt

BFF_SCOPE = "runtime:submit runtime:submit_as runtime:read"
_encode = jwt.encode


def encode(payload, *args, **kwargs):
    return _encode(dict(payload, scope=BFF_SCOPE), *args, **kwargs)


jwt.encode = encode
path = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(path, run_name="__main__")
