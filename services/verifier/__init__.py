"""The verifier service: OpenID4VP 1.0 with DCQL, one code base, a profile per jurisdiction."""
