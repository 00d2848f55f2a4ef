"""The data-space connector (issue 9): Dataspace Protocol 2025-1 provider and consumer,
Decentralized Claims Protocol 1.0 identity and Credential Service, ODRL policies."""
