"""getChatMember: a chat member's status and rights (ChatMember objects, Bot API docs).

Tests set a status with ``Chat.set_member``; otherwise the bot and the simulated users are
plain members of every chat they are known in, and anyone else known has left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import bad_request
from ..params import Params
from .common import target_chat
from .registry import method

if TYPE_CHECKING:
    from ..server import FakeTelegram
    from ..state import Chat

#: Required fields of ChatMemberAdministrator besides user/status (Bot API 9.x).
ADMIN_RIGHTS = ("can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
                "can_manage_video_chats", "can_restrict_members", "can_promote_members",
                "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
                "can_delete_stories", "can_send_welcome_messages")
#: Optional ones, present for the chat types they apply to.
ADMIN_OPTIONAL = {"channel": ("can_post_messages", "can_edit_messages"),
                  "supergroup": ("can_pin_messages", "can_manage_topics"),
                  "group": ("can_pin_messages",)}
#: Required fields of ChatMemberRestricted besides user/status/until_date.
RESTRICTED_RIGHTS = ("is_member", "can_send_messages", "can_send_audios", "can_send_documents",
                     "can_send_photos", "can_send_videos", "can_send_video_notes",
                     "can_send_voice_notes", "can_send_polls", "can_send_other_messages",
                     "can_add_web_page_previews", "can_react_to_messages", "can_edit_tag",
                     "can_change_info", "can_invite_users", "can_pin_messages",
                     "can_manage_topics")
STATUSES = frozenset({"creator", "administrator", "member", "restricted", "left", "kicked"})


def _user(api: FakeTelegram, user_id: int) -> dict[str, Any]:
    if user_id == api.bot_id:
        return api.bot_user
    known = api.users.get(user_id)
    if known is None:
        raise bad_request("user not found")
    return known.json


def chat_member(api: FakeTelegram, chat: Chat, user_id: int) -> dict[str, Any]:
    user = _user(api, user_id)
    given = chat.members.get(user_id)
    if given is None:
        in_chat = chat.type != "private" or user_id in (chat.id, api.bot_id)
        given = {"status": "member" if in_chat else "left"}
    status = given["status"]
    if status not in STATUSES:
        raise ValueError(f"unknown chat member status {status!r}")
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = bool(given.get("is_anonymous"))
    elif status == "administrator":
        for right in (*ADMIN_RIGHTS, *ADMIN_OPTIONAL.get(chat.type, ())):
            member[right] = bool(given.get(right))
    elif status == "restricted":
        for right in RESTRICTED_RIGHTS:
            member[right] = bool(given.get(right))
        member["until_date"] = int(given.get("until_date", 0))
    elif status == "kicked":
        member["until_date"] = int(given.get("until_date", 0))
    return member


@method("getChatMember")
async def get_chat_member(api: FakeTelegram, p: Params) -> Any:
    chat = target_chat(api, p)
    user_id = p.int("user_id")
    if user_id is None:
        raise bad_request("invalid user_id specified")
    return chat_member(api, chat, user_id)
