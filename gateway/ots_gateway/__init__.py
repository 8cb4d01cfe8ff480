"""OTS device gateway SDK: what a team's tablet needs to talk to OTS.

- `keys`: the device's Ed25519 key and its enrolment request;
- `messages`: the contract's gateway messages, signed over their canonical bytes;
- `chain`: each person's capture chain, kept in memory (`Chains`) or in the outbox;
- `outbox`: an SQLite outbox that outlives the app and flushes in order when NATS is reachable;
- `worklist`, `feedback`: the device's worklist and the feedback on its messages;
- `cli`: `ots-gateway`, with the conformance kit (`vectors`, `verify`).

The protocol's checks come from `contracts.gateway`, the code recording itself runs."""
