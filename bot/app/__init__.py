"""What the bot answers: commands, buttons, inline queries, replies as data, i18n.

Independent of Telegram: handlers/ and bot/console.py render its replies.
"""
