"""ITA deadline bot: answers Thai questions about ITA closing times and pushes reminders in LINE."""
