"""How deeply a JSON document from a client may nest, checked before it is parsed.

The HTTP guard (`hubbub.edge.http.responses`) and the socket's packet decoder
(`hubbub.edge.socket.engine`) ask this before handing a body or a packet to the standard
library's parser, which every client's payloads were written against. That parser
recurses once per array or object, counted against Python's recursion limit (1,000
frames): a body of 100,000 `[` is refused with a RecursionError, but on its way there any
finalizer the garbage collector runs finds no stack left and fails unseen (a CI run saw
one). Refused here, such a document never reaches the parser.
"""

from __future__ import annotations

import re
from itertools import accumulate

# Far beyond any document the API takes (the deepest is a message's free-form metadata,
# which a client nests a few levels), and far from the recursion limit.
MAX_JSON_DEPTH = 64

# A JSON string, escapes included: the brackets inside one do not nest.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = tuple(1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256))


def nested_too_deep(document: str | bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `document` opens more than `limit` arrays or objects inside one another.

    A document with no more than `limit` openers in all cannot, which is the common
    answer, given by two counts. Otherwise the strings are taken out and the running
    depth of the brackets left is followed (regular expression, `bytes.translate`,
    `accumulate`: no Python loop per byte). A document that is not JSON may be judged
    either way; the parser refuses it in any case.
    """
    if isinstance(document, str):
        if document.count("[") + document.count("{") <= limit:
            return False
        document = document.encode("utf-8", "surrogatepass")
    elif document.count(b"[") + document.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", document).translate(None, _NOT_A_BRACKET)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit
