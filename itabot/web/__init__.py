"""Private web links: a province's read-only page (`/dashboard`) and a chat's calendar feed."""
