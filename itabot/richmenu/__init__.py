"""The rich menu of 1:1 chats: its areas (menu), its picture (image), its deployment (deploy)."""
