"""The till agent (`kiosk-till`): a POS's way to write vouchers off (核销) at HQ, and within bounds
while HQ is unreachable.

A POS calls the agent's CLI or its local HTTP daemon (127.0.0.1 only); a USB barcode scanner types
codes on stdin (`scan`). Online, HQ's answer is final. Offline, the agent verifies the code with the
cached signed key directory (public keys only), refuses what its journal already holds and what
passes the offline caps, and journals the rest durably to replay when HQ is back (docs/till-agent.md).

Module map: config (till.yaml), errors, codes (what a scanner typed), hq_client (HTTP to HQ),
directory (the signed key directory), journal (SQLite), outcomes (answers for the POS), agent
(consume, lookup), replay (replay and settling), cli, server (local HTTP).
"""
