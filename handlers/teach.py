"""Staff teach the bot from Telegram: /unanswered with one-tap decisions, /kb todo (confirm
an entry's facts by sending the right answer), /kb history and /kb undo.

Every change goes through :class:`bot.knowledge.store.KbStore` (validated like ``kb check``,
written atomically, the previous files kept for undo), then the running bot reloads at once
(``reload``), the decision is recorded (``unanswered_decisions``) and audited. Staff are
``staff.admins`` in the staff chat or in private (:class:`handlers.filters.StaffPlace`); for
anyone else none of this exists (the unknown-command reply, handlers.unknown).

Teaching is additive and recomputed at the tap (the group is looked up again), so it applies
to the current version; a new answer (/kb todo) and an undo carry the version they were shown
against and are refused (``StaleVersion``) when the KB changed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from datetime import UTC, datetime
from functools import partial
from html import escape, unescape

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, Filter, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    User,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.db import audit, decisions
from bot.i18n import Translate
from bot.knowledge import KnowledgeBase
from bot.knowledge.models import LANGS
from bot.knowledge.store import (
    EntryEdit,
    KbInvalid,
    KbStore,
    KbVersion,
    StaleVersion,
    store_for,
)
from bot.services import Knowledge, Reload
from bot.staff import unanswered
from bot.telegram.replies import NO_PREVIEW, send_long
from bot.text import tghtml
from bot.text.normalize import clip, detect_language, normalize
from bot.ui.keyboards import url_buttons
from handlers.filters import KbSubcommand, StaffPlace

MAX_DAYS = 3650
SHOWN_GROUPS = 10  # one message per group, the most asked first
SHOWN_ERRORS = 10
HISTORY_SHOWN = 10
MAX_REF = 36  # entry ids up to this length go into callback data as they are
MAX_LABEL = 40
# /kb subcommands of other routers (handlers.kb_sheet): the help must not take them.
OTHER_KB_COMMANDS = ("export", "import")


class TeachCb(CallbackData, prefix="tc1"):
    """A decision about the unanswered group ``g`` (its key) of the last ``d`` days:
    ``add`` to entry ``x``, ``other`` (the topic menu), ``cat`` (the entries of category
    ``x``), ``back``, ``oos`` (out of scope), ``ign`` (ignore)."""

    op: str
    g: str
    d: int
    x: str = ""


class TodoCb(CallbackData, prefix="td1"):
    """/kb todo: ``pick`` entry ``x``; on the preview ``ok``, ``lang`` (the other language),
    ``no``."""

    op: str
    x: str = ""


class UndoCb(CallbackData, prefix="ku1"):
    """``ask`` (show the confirmation), ``ok`` or ``no``; ``v`` the version it was shown at."""

    op: str
    v: str


class TodoForm(StatesGroup):
    answer = State()  # waiting for the new answer text
    preview = State()  # waiting for Confirm


# --- helpers ---------------------------------------------------------------------------------


def author_of(user: User) -> str:
    """Who, as the history and the KB files record it."""
    return f"{user.full_name} (id {user.id})"


def _ref(entry_id: str) -> str:
    if len(entry_id) <= MAX_REF:
        return entry_id
    return "~" + hashlib.sha1(entry_id.encode()).hexdigest()[:12]


def _resolve(kb: KnowledgeBase, ref: str) -> str | None:
    if not ref.startswith("~"):
        return ref if ref in kb.entries else None
    return next((e for e in kb.entries if _ref(e) == ref), None)


def _label(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "…"


def _title(kb: KnowledgeBase, entry_id: str, lang: str) -> str:
    entry = kb.entries.get(entry_id)
    return entry.label(lang) if entry else entry_id


def _when(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


async def _run(fn, *args, **kwargs):
    """File writes and validation take a moment: the event loop keeps serving students."""
    return await asyncio.get_running_loop().run_in_executor(None, partial(fn, *args, **kwargs))


def _errors(exc: KbInvalid) -> str:
    lines = [escape(str(p)) for p in exc.errors[:SHOWN_ERRORS]]
    if len(exc.errors) > SHOWN_ERRORS:
        lines.append(f"… +{len(exc.errors) - SHOWN_ERRORS}")
    return "\n".join(lines)


async def _stale_text(store: KbStore, t: Translate, retry: str) -> str:
    items = await _run(store.history, 1)
    if not items:
        return t("kb-stale-unknown", retry=retry)
    last = items[0]
    return t("kb-stale", summary=escape(last.summary), author=escape(last.author),
             when=_when(last.at), retry=retry)


async def _reloaded(reload: Reload, t: Translate) -> str:
    """Reload now; an empty string when it worked, else the line to add to the reply."""
    result = await reload()
    if result.ok:
        return ""
    first = result.errors[0] if result.errors else "?"
    return "\n" + t("kb-reload-failed", error=escape(str(first)))


async def _edit(call: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None,
                ) -> None:
    msg = call.message
    if msg is None or isinstance(msg, InaccessibleMessage):
        return
    with contextlib.suppress(TelegramBadRequest):  # unchanged, or too old to edit
        await msg.edit_text(text, reply_markup=markup, link_preview_options=NO_PREVIEW)


# --- /kb -------------------------------------------------------------------------------------


async def kb_help(message: Message, t: Translate) -> None:
    await message.answer(t("kb-help"))


# --- /unanswered -----------------------------------------------------------------------------


def _group_text(g: unanswered.Group, kb: KnowledgeBase, lang: str, t: Translate) -> str:
    # Questions are clipped (each may be 4,096 characters, and escaping can make them
    # longer): the group's message, its buttons under it, must stay one Telegram message.
    for example_limit, other_limit in ((1000, 200), (300, 60), (100, 20)):
        text = _group_text_clipped(g, kb, lang, t, example_limit, other_limit)
        if len(text) <= tghtml.MAX_MESSAGE:
            break
    return text


def _group_text_clipped(g: unanswered.Group, kb: KnowledgeBase, lang: str, t: Translate,
                        example_limit: int, other_limit: int) -> str:
    example = escape(clip(g.example, example_limit))
    lines = [t("teach-group", count=g.count, example=example, lang=g.lang)]
    others = [x for x in g.texts if x != g.example]
    if others:
        shown = "; ".join(f"<i>{escape(clip(x, other_limit))}</i>" for x in others[:3])
        lines.append(t("teach-also", texts=shown + ("; …" if len(others) > 3 else "")))
    if g.rejected:
        lines.append(t("teach-rejected", title=escape(_title(kb, g.rejected, lang)),
                       entry=escape(g.rejected)))
    if g.closest:
        lines.append(t("teach-closest", title=escape(_title(kb, g.closest, lang)),
                       entry=escape(g.closest), score=f"{g.closest_score:.0f}"))
    elif g.nearest:
        lines.append(t("teach-nearest-weak", entry=escape(g.nearest),
                       score=f"{g.nearest_score:.0f}"))
    else:
        lines.append(t("teach-no-entry"))
    return "\n".join(lines)


def _group_keyboard(g: unanswered.Group, days: int, kb: KnowledgeBase, lang: str,
                    t: Translate) -> InlineKeyboardMarkup:
    rows = []
    if g.closest:
        rows.append([InlineKeyboardButton(
            text=_label(t("btn-teach-add", title=_title(kb, g.closest, lang))),
            callback_data=TeachCb(op="add", g=g.key, d=days, x=_ref(g.closest)).pack())])
    rows.append([InlineKeyboardButton(text=t("btn-teach-other"), callback_data=TeachCb(
        op="other", g=g.key, d=days).pack())])
    rows.append([InlineKeyboardButton(text=t("btn-teach-oos"), callback_data=TeachCb(
                     op="oos", g=g.key, d=days).pack()),
                 InlineKeyboardButton(text=t("btn-teach-ignore"), callback_data=TeachCb(
                     op="ign", g=g.key, d=days).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def _groups(session: AsyncSession, knowledge: Knowledge, days: int
                  ) -> list[unanswered.Group]:
    rows = await unanswered.fetch(session, days)
    done = await decisions.decided(session)
    return unanswered.group(rows, knowledge.engine, done)


async def unanswered_cmd(message: Message, command: CommandObject, session: AsyncSession,
                         knowledge: Knowledge, lang: str, t: Translate) -> None:
    arg = (command.args or "").strip()
    days = 30 if not arg else int(arg) if arg.isdigit() and 0 < int(arg) <= MAX_DAYS else None
    if days is None:
        await message.answer(t("staff-usage-days"))
        return
    groups = await _groups(session, knowledge, days)
    await audit.record(session, message.from_user.id, "unanswered", f"days={days}")
    if not groups:
        await message.answer(t("teach-empty", days=days))
        return
    shown = groups[:SHOWN_GROUPS]
    await message.answer(t("teach-title", days=days, groups=len(groups),
                           shown=len(shown) if len(groups) > len(shown) else 0))
    kb = knowledge.kb
    for g in shown:
        await message.answer(_group_text(g, kb, lang, t),
                             reply_markup=_group_keyboard(g, days, kb, lang, t),
                             link_preview_options=NO_PREVIEW)


def _categories_keyboard(g_key: str, days: int, kb: KnowledgeBase, lang: str,
                         t: Translate) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=_label(c.title.get(lang) or c.id),
                                  callback_data=TeachCb(op="cat", g=g_key, d=days,
                                                        x=c.id).pack())]
            for c in kb.ordered_categories() if kb.in_category(c.id)]
    rows.append([InlineKeyboardButton(text=t("btn-teach-back"), callback_data=TeachCb(
        op="back", g=g_key, d=days).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _entries_keyboard(g_key: str, days: int, kb: KnowledgeBase, category: str, lang: str,
                      t: Translate) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=_label(e.label(lang)), callback_data=TeachCb(
                op="add", g=g_key, d=days, x=_ref(e.id)).pack())]
            for e in kb.in_category(category)]
    rows.append([InlineKeyboardButton(text=t("btn-teach-back"), callback_data=TeachCb(
        op="other", g=g_key, d=days).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def teach_cb(call: CallbackQuery, callback_data: TeachCb, session: AsyncSession,
                   knowledge: Knowledge, config: Config, reload: Reload, lang: str,
                   t: Translate) -> None:
    cb, kb = callback_data, knowledge.kb
    if cb.op == "other":
        await call.answer()
        if call.message and not isinstance(call.message, InaccessibleMessage):
            with contextlib.suppress(TelegramBadRequest):
                await call.message.edit_reply_markup(
                    reply_markup=_categories_keyboard(cb.g, cb.d, kb, lang, t))
        return
    if cb.op == "cat":
        await call.answer()
        if call.message and not isinstance(call.message, InaccessibleMessage):
            with contextlib.suppress(TelegramBadRequest):
                await call.message.edit_reply_markup(
                    reply_markup=_entries_keyboard(cb.g, cb.d, kb, cb.x, lang, t))
        return
    g = next((g for g in await _groups(session, knowledge, cb.d) if g.key == cb.g), None)
    if g is None:
        await call.answer()
        await _edit(call, t("teach-gone"))
        return
    if cb.op == "back":
        await call.answer()
        await _edit(call, _group_text(g, kb, lang, t), _group_keyboard(g, cb.d, kb, lang, t))
        return
    await call.answer("⏳")
    user = call.from_user
    author = author_of(user)
    store = store_for(config.knowledge)
    texts = list(g.texts) or [g.example]
    try:
        if cb.op == "add":
            entry_id = _resolve(kb, cb.x)
            if entry_id is None:
                await _edit(call, t("teach-gone"))
                return
            # Wordings already in the KB (in any entry) are not added twice.
            existing = {normalize(q) for e in kb.entries.values()
                        for qs in e.questions.values() for q in qs}
            fresh = [x for x in texts if normalize(x) not in existing]
            if fresh:
                await _run(store.apply, [EntryEdit.add_phrasings(entry_id, g.lang, fresh)],
                           author=author, summary=t("teach-summary-entry", entry=entry_id,
                                                    count=len(fresh), lang=g.lang))
            await decisions.record(session, user.id, g.lang, texts, "entry", entry_id)
            await audit.record(session, user.id, "kb teach",
                               f"{entry_id} +{len(fresh)} {g.lang}: {g.example}")
            title = escape(_title(kb, entry_id, lang))
            done = (t("teach-done-entry", author=escape(author), count=len(fresh), title=title)
                    if fresh else t("teach-done-nothing", author=escape(author), title=title))
        elif cb.op == "oos":
            await _run(store.apply, [EntryEdit.add_out_of_scope(g.lang, texts)],
                       author=author, summary=t("teach-summary-oos", count=len(texts),
                                                lang=g.lang))
            await decisions.record(session, user.id, g.lang, texts, "out_of_scope")
            await audit.record(session, user.id, "kb out of scope", f"{g.lang}: {g.example}")
            done = t("teach-done-oos", author=escape(author))
        elif cb.op == "ign":
            await decisions.record(session, user.id, g.lang, texts, "ignore")
            await audit.record(session, user.id, "kb ignore", f"{g.lang}: {g.example}")
            await _edit(call, _group_text(g, kb, lang, t) + "\n\n" +
                        t("teach-done-ignore", author=escape(author)))
            return
        else:
            return
    except KbInvalid as exc:
        await call.message.answer(t("kb-invalid", errors=_errors(exc)))
        return
    done += await _reloaded(reload, t)
    await _edit(call, _group_text(g, kb, lang, t) + "\n\n" + done)


# --- /kb todo --------------------------------------------------------------------------------


def _todo_keyboard(kb: KnowledgeBase, lang: str, t: Translate) -> InlineKeyboardMarkup:
    todo = sorted((e for e in kb.entries.values() if not e.verified),
                  key=lambda e: (e.category, e.id))
    rows = [[InlineKeyboardButton(text=_label(e.label(lang)),
                                  callback_data=TodoCb(op="pick", x=_ref(e.id)).pack())]
            for e in todo]
    # A confirmed entry whose facts changed (next year's fee): through the topic menu.
    rows.append([InlineKeyboardButton(text=t("btn-todo-other"),
                                      callback_data=TodoCb(op="cats").pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _todo_categories(kb: KnowledgeBase, lang: str, t: Translate) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=_label(c.title.get(lang) or c.id),
                                  callback_data=TodoCb(op="cat", x=c.id).pack())]
            for c in kb.ordered_categories() if kb.in_category(c.id)]
    rows.append([InlineKeyboardButton(text=t("btn-teach-back"),
                                      callback_data=TodoCb(op="list").pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _todo_entries(kb: KnowledgeBase, category: str, lang: str, t: Translate
                  ) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=_label(e.label(lang)),
                                  callback_data=TodoCb(op="pick", x=_ref(e.id)).pack())]
            for e in kb.in_category(category)]
    rows.append([InlineKeyboardButton(text=t("btn-teach-back"),
                                      callback_data=TodoCb(op="cats").pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def todo_cmd(message: Message, knowledge: Knowledge, state: FSMContext, lang: str,
                   t: Translate) -> None:
    await state.clear()
    kb = knowledge.kb
    count = sum(1 for e in kb.entries.values() if not e.verified)
    await message.answer(t("todo-title", count=count) if count else t("todo-empty"),
                         reply_markup=_todo_keyboard(kb, lang, t))


async def todo_pick(call: CallbackQuery, callback_data: TodoCb, knowledge: Knowledge,
                    config: Config, state: FSMContext, lang: str, t: Translate) -> None:
    await call.answer()
    kb = knowledge.kb
    entry_id = _resolve(kb, callback_data.x)
    if call.message is None or isinstance(call.message, InaccessibleMessage):
        return
    if entry_id is None:
        await call.message.answer(t("todo-gone"))
        return
    entry = kb.entries[entry_id]
    version = await _run(store_for(config.knowledge).version)
    cut = 1000
    answers = {lng: entry.answer.get(lng, "") for lng in LANGS}
    shown = {lng: escape(tghtml_plain(text)[:cut]) for lng, text in answers.items()}
    prompt = await call.message.answer(t("todo-entry", title=escape(entry.label(lang)),
                                         entry=escape(entry_id),
                                         source=escape(entry.source or t("todo-no-source")),
                                         en=shown["en"], ru=shown["ru"]),
                                       link_preview_options=NO_PREVIEW)
    await state.set_state(TodoForm.answer)
    await state.set_data({"entry": entry_id, "version": version.id,
                          "prompt": prompt.message_id,
                          "thread": prompt.message_thread_id if prompt.is_topic_message
                          else None})


class TodoAnswer(Filter):
    """The answer staff type after picking an entry. In the staff chat not a reply to
    something else (a student's message: that goes to the student, handlers.handoff) and in
    the same forum topic as the prompt."""

    async def __call__(self, message: Message, state: FSMContext) -> bool:  # type: ignore[override]
        if (message.text or "").startswith("/"):
            return False
        if message.chat.type == "private":
            return True
        data = await state.get_data()
        reply = message.reply_to_message
        if reply is not None and reply.message_id != data.get("prompt") and not (
                message.is_topic_message and reply.message_id == message.message_thread_id):
            return False
        thread = message.message_thread_id if message.is_topic_message else None
        return thread == data.get("thread")


def tghtml_plain(text: str) -> str:
    """The answer's text without tags, for showing it inside a quote."""
    return unescape(re.sub(r"<[^>]+>", "", text)).strip()


async def todo_text(message: Message, bot: Bot, knowledge: Knowledge, state: FSMContext,
                    lang: str, t: Translate) -> None:
    if not message.text:
        await message.answer(t("todo-need-text"))
        return
    html = message.html_text.strip()
    bad = tghtml.problems(html)
    if bad:
        await message.answer(t("todo-bad-html", problems=escape("; ".join(bad[:3]))))
        return
    length = tghtml.visible_length(html)
    if length > tghtml.MAX_MESSAGE:
        await message.answer(t("todo-too-long", length=length, limit=tghtml.MAX_MESSAGE))
        return
    data = await state.get_data()
    entry = knowledge.kb.entries.get(data.get("entry", ""))
    if entry is None:
        await state.clear()
        await message.answer(t("todo-gone"))
        return
    answer_lang = detect_language(message.text, lang)
    await state.update_data(html=html, lang=answer_lang)
    await state.set_state(TodoForm.preview)
    await _preview(bot, message.chat.id, message.message_thread_id, html, answer_lang,
                   entry.label(lang), t)


async def _preview(bot: Bot, chat_id: int, thread_id: int | None, html: str, answer_lang: str,
                   title: str, t: Translate) -> None:
    # Exactly what a student gets: the text in HTML, with the web-link buttons of its links.
    links = url_buttons(html)
    markup = InlineKeyboardMarkup(inline_keyboard=[[b] for b in links]) if links else None
    await send_long(bot, chat_id, html, reply_markup=markup, message_thread_id=thread_id)
    await bot.send_message(chat_id, t("todo-preview", language=t(f"todo-language-{answer_lang}"),
                                      title=escape(title)),
                           reply_markup=_preview_keyboard(answer_lang, t),
                           message_thread_id=thread_id)


def _preview_keyboard(answer_lang: str, t: Translate) -> InlineKeyboardMarkup:
    other = "ru" if answer_lang == "en" else "en"
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=t("btn-todo-confirm"), callback_data=TodoCb(op="ok").pack())],
        [InlineKeyboardButton(text=t("btn-todo-other-lang", language=t(f"todo-language-{other}")),
                              callback_data=TodoCb(op="lang").pack()),
         InlineKeyboardButton(text=t("btn-todo-cancel"), callback_data=TodoCb(op="no").pack())],
    ])


async def todo_cb(call: CallbackQuery, callback_data: TodoCb, session: AsyncSession,
                  knowledge: Knowledge, config: Config, reload: Reload, state: FSMContext,
                  lang: str, t: Translate) -> None:
    if callback_data.op == "pick":
        await todo_pick(call, callback_data, knowledge, config, state, lang, t)
        return
    if callback_data.op in ("cats", "cat", "list"):
        await call.answer()
        kb = knowledge.kb
        markup = (_todo_categories(kb, lang, t) if callback_data.op == "cats" else
                  _todo_entries(kb, callback_data.x, lang, t) if callback_data.op == "cat" else
                  _todo_keyboard(kb, lang, t))
        if call.message and not isinstance(call.message, InaccessibleMessage):
            with contextlib.suppress(TelegramBadRequest):
                await call.message.edit_reply_markup(reply_markup=markup)
        return
    data = await state.get_data()
    if await state.get_state() != TodoForm.preview.state or "html" not in data:
        await call.answer()
        await _edit(call, t("todo-expired"))
        return
    kb = knowledge.kb
    entry = kb.entries.get(data["entry"])
    if callback_data.op == "no" or entry is None:
        await state.clear()
        await call.answer()
        await _edit(call, t("todo-cancelled") if entry else t("todo-gone"))
        return
    if callback_data.op == "lang":
        await call.answer()
        other = "ru" if data["lang"] == "en" else "en"
        await state.update_data(lang=other)
        await _edit(call, t("todo-preview", language=t(f"todo-language-{other}"),
                            title=escape(entry.label(lang))), _preview_keyboard(other, t))
        return
    await call.answer("⏳")
    user = call.from_user
    author = author_of(user)
    answer_lang = data["lang"]
    store = store_for(config.knowledge)
    edit = EntryEdit.set(entry.id, answer={answer_lang: data["html"]}, verified=True,
                         verified_by=author, verified_at=datetime.now(UTC).date())
    try:
        await _run(store.apply, [edit], author=author,
                   summary=t("todo-summary", entry=entry.id, lang=answer_lang),
                   base=KbVersion(data["version"]))
    except StaleVersion:
        await state.clear()
        await _edit(call, await _stale_text(store, t, "/kb todo"))
        return
    except KbInvalid as exc:
        await _edit(call, t("kb-invalid", errors=_errors(exc)))
        return
    await state.clear()
    await audit.record(session, user.id, "kb answer", f"{entry.id} {answer_lang}")
    done = t("todo-saved", author=escape(author), title=escape(entry.label(lang)),
             language=t(f"todo-language-{answer_lang}"))
    await _edit(call, done + await _reloaded(reload, t))


async def todo_cancel(message: Message, state: FSMContext, t: Translate) -> None:
    await state.clear()
    await message.answer(t("todo-cancelled"))


# --- /kb history, /kb undo -------------------------------------------------------------------


async def history_cmd(message: Message, config: Config, session: AsyncSession,
                      t: Translate) -> None:
    store = store_for(config.knowledge)
    items = await _run(store.history, HISTORY_SHOWN)
    version = await _run(store.version)
    await audit.record(session, message.from_user.id, "kb history")
    if not items:
        await message.answer(t("history-empty"))
        return
    lines = [t("history-title")]
    for h in items:
        line = t("history-item", when=_when(h.at), author=escape(h.author),
                 summary=escape(h.summary))
        lines.append(line + (" " + t("history-undone") if h.undone_by else ""))
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=t("btn-history-undo"), callback_data=UndoCb(op="ask", v=version.id).pack())]])
    await message.answer("\n".join(lines), reply_markup=markup)


def _undo_target(store: KbStore):
    return next((h for h in store.history(KEEP_ALL) if h.undoes is None and not h.undone_by),
                None)


KEEP_ALL = 1000


async def _ask_undo(send, store: KbStore, version: str, t: Translate) -> None:
    target = await _run(_undo_target, store)
    if target is None:
        await send(t("undo-nothing"))
        return
    markup = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=t("btn-undo-confirm"),
                             callback_data=UndoCb(op="ok", v=version).pack()),
        InlineKeyboardButton(text=t("btn-todo-cancel"),
                             callback_data=UndoCb(op="no", v=version).pack())]])
    await send(t("undo-confirm", summary=escape(target.summary), author=escape(target.author),
                 when=_when(target.at)), reply_markup=markup)


async def undo_cmd(message: Message, config: Config, t: Translate) -> None:
    store = store_for(config.knowledge)
    version = await _run(store.version)
    await _ask_undo(message.answer, store, version.id, t)


async def undo_cb(call: CallbackQuery, callback_data: UndoCb, session: AsyncSession,
                  config: Config, reload: Reload, t: Translate) -> None:
    store = store_for(config.knowledge)
    if callback_data.op == "ask":
        await call.answer()
        await _ask_undo(call.message.answer, store, callback_data.v, t)
        return
    if callback_data.op == "no":
        await call.answer()
        await _edit(call, t("undo-cancelled"))
        return
    await call.answer("⏳")
    target = await _run(_undo_target, store)
    author = author_of(call.from_user)
    try:
        await _run(store.undo, author=author, base=KbVersion(callback_data.v))
    except StaleVersion:
        await _edit(call, await _stale_text(store, t, "/kb history"))
        return
    except LookupError:
        await _edit(call, t("undo-nothing"))
        return
    summary = target.summary if target else "?"
    await audit.record(session, call.from_user.id, "kb undo", summary)
    await _edit(call, t("undo-done", author=escape(author), summary=escape(summary)) +
                await _reloaded(reload, t))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(StaffPlace())
    router.callback_query.filter(StaffPlace())
    router.message.register(unanswered_cmd, Command("unanswered"))
    router.message.register(todo_cmd, Command("kb"), KbSubcommand("todo"))
    router.message.register(history_cmd, Command("kb"), KbSubcommand("history"))
    router.message.register(undo_cmd, Command("kb"), KbSubcommand("undo"))
    # Bare /kb, /kb help and any /kb subcommand no router has: the list of them.
    router.message.register(kb_help, Command("kb"), ~KbSubcommand(*OTHER_KB_COMMANDS))
    router.message.register(todo_cancel, Command("cancel"),
                            StateFilter(TodoForm.answer, TodoForm.preview))
    router.message.register(todo_text, StateFilter(TodoForm.answer), TodoAnswer())
    router.callback_query.register(teach_cb, TeachCb.filter())
    router.callback_query.register(todo_cb, TodoCb.filter())
    router.callback_query.register(undo_cb, UndoCb.filter())
    return router

