"""Short-lived tokens proven with clients Keystead did not write (PyJWT, Authlib,
requests-oauthlib), each against a real ``keystead serve``."""
