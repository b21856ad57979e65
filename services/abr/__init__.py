"""What the ABR backfill writes and the spot-check reads back (docs/contracts.md §1.1, §4).

Both ``services.backfill`` (the writer) and ``services.spotcheck`` (the reader) import this
package, never each other (an import-linter independence contract):

- ``services.abr.ledger``: the packaging ledger ``games/{id}/abr/renditions.json``
  (``PackagedRendition`` rows in a ``LedgerDocument``; ``LedgerError`` when malformed);
- ``services.abr.multivariant``: the multivariant ``master.m3u8`` of a backfilled game
  (RFC 8216 §4.3.4.2) and the figures it declares (BANDWIDTH, CODECS), measured the same
  way by the writer and by the checker.

The keys themselves (where the ledger and the rungs live) are in ``services.layout``.
"""
