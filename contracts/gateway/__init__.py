"""The gateway protocol, judged offline: the one place both recording and the gateway SDK take
it from. Reading a message (envelope, fields, sizes), the device it names, its Ed25519 signature
over the canonical bytes, the sample's SHA-256 and each person's capture chain.

What needs recording's state (enrolment validity, schedules, the visit's day) stays in recording;
`contracts.gateway.judge` composes these checks for the vendors' conformance kit."""
