"""What the local stand-ins of the chat platforms share.

The WeChat Official Account and WeCom stand-ins differ in their API and
their pushes but not in how they hold to an api.json: the callback crypto
(:mod:`~local_servers.common.crypto`), the field checks
(:mod:`~local_servers.common.spec`), the front door with its faults and
violations (:mod:`~local_servers.common.server`), push delivery with retries
(:mod:`~local_servers.common.delivery`), the control interface's shape and
its client (:mod:`~local_servers.common.control`,
:mod:`~local_servers.common.client`). Like the stand-ins, it imports nothing
from the product.
"""
