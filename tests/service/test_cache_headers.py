"""API answers are private and fresh: nothing may cache them."""


def test_api_answers_may_not_be_stored(api, anon):
    assert api.get("/api/chats/")["Cache-Control"] == "no-store"
    assert api.get("/api/users/me/")["Cache-Control"] == "no-store"
    assert anon.get("/api/chats/")["Cache-Control"] == "no-store"


def test_pages_outside_the_api_keep_their_own_caching(anon):
    assert anon.get("/healthz").get("Cache-Control") is None
