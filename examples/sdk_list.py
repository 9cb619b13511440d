"""List every Access user through the official Cloudflare Python SDK's auto-pagination.

Run by `cargo run --release --example figures -- list` against the sandbox, to compare the
SDK's listing with reconcile's in the same run (docs/performance.md, "Listing stays ahead").
Usage: CLOUDFLARE_API_TOKEN=... python3 sdk_list.py BASE_URL ACCOUNT_ID
Prints the number of users listed.
"""

import sys

from cloudflare import Cloudflare


def main() -> None:
    base_url, account_id = sys.argv[1], sys.argv[2]
    # The token from CLOUDFLARE_API_TOKEN, as the SDK reads it; no retries, so that a failed
    # request shows instead of being waited out.
    client = Cloudflare(base_url=base_url, max_retries=0)
    listed = 0
    # 1000 per page, as reconcile asks: the same 100 pages for each.
    for _user in client.zero_trust.access.users.list(account_id=account_id, per_page=1000):
        listed += 1
    print(listed)


if __name__ == "__main__":
    main()
