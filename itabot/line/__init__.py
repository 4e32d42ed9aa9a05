"""The only door to LINE: the client (reply, push with retry keys, quota, member counts) and answers rendered as LINE messages."""
