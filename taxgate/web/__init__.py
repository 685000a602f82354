"""The web pages: sign-in, the review desk and oversight (server-rendered Jinja)."""
