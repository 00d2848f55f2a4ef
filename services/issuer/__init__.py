"""The issuer service: OpenID4VCI 1.0, one code base, a profile per jurisdiction."""
