"""News: collectors (Naver search API, RSS), storage with URL dedup, company links, Korean
full-text search and keyword frequency."""
