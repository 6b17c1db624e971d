"""/conversation: which conversation a chat searches, shown and chosen (by command or
button). In a group only its administrators may choose; whether the person is one
is for the front end to ask (`may_manage`), this module only words the refusal."""

from __future__ import annotations

from bot.app import buttons
from bot.app.conversations import (
    NoSuchConversation,
    choice,
    conversation_view,
    no_such_conversation_view,
)
from bot.app.finding import Finder
from bot.app.i18n import gettext_for
from bot.app.replies import Reply, esc
from bot.app.sender import Sender
from bot.text import clean_input


class ChatSettings:
    """The chat's chosen conversation."""

    def __init__(self, finder: Finder) -> None:
        self.finder = finder

    async def conversation(self, sender: Sender, arg: str = "", may_manage: bool = True) -> Reply:
        """/conversation: show the chat's choice; `#id` narrows the chat to one, `all` undoes it."""
        arg = clean_input(arg or "").strip()
        engine = self.finder.engine
        conversations = list(engine.conversations.values())
        if not arg:
            chosen = await self.finder.chosen(sender)
            return conversation_view(conversations, chosen, sender.lang)
        picked = choice(arg, list(engine.conversations))
        if isinstance(picked, NoSuchConversation):
            return no_such_conversation_view(picked, conversations, sender.lang)
        return await self.choose(sender, picked, may_manage)

    async def choose(self, sender: Sender, conversation: str | None, may_manage: bool) -> Reply:
        """Make the chat search `conversation` (None: all), if the sender may."""
        _ = gettext_for(sender.lang)
        if sender.chat_id is None:
            return Reply(esc(_("Choosing a conversation needs a chat.")))
        if not may_manage:
            return Reply(esc(self.refused_change(sender)))
        await self.finder.store.chats.choose(sender.chat_id, conversation)
        conversations = list(self.finder.engine.conversations.values())
        return conversation_view(conversations, conversation, sender.lang, changed=True)

    async def choose_button(
        self, sender: Sender, conversation: str | None, may_manage: bool
    ) -> Reply | None:
        """A /conversation button; None when its conversation is gone."""
        if conversation is not None and conversation not in self.finder.engine.conversations:
            return None
        return await self.choose(sender, conversation, may_manage)

    def refused_change(self, sender: Sender) -> str:
        """Plain text: a group member who is no administrator tried to choose."""
        _ = gettext_for(sender.lang)
        return _("Only the group's administrators can choose the conversation it searches.")

    @staticmethod
    def changes_chat(data: str) -> bool:
        """Whether a button press changes the chat's settings (in groups: administrators only)."""
        return isinstance(buttons.decode(data), buttons.ChooseConversation)
