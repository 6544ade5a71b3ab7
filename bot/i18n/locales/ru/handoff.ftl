# Передача вопроса приёмной комиссии (handlers/handoff.py): что видят абитуриенты, и
# уведомления в чате сотрудников о доставке и правках. Прежние строки — в staff.ftl.

fallback-no-staff =
    К сожалению, я не знаю ответа на этот вопрос и не хочу гадать.

    Обратитесь, пожалуйста, в <b>приёмную комиссию для иностранных граждан</b>: контакты есть на официальном сайте, <a href="{ $website }">{ $website_host }</a>.
handoff-contacts-website = Чтобы связаться с приёмной комиссией, воспользуйтесь контактами на официальном сайте: { $website }
handoff-staff-reply-header = 💬 <b>Приёмная комиссия:</b>
handoff-confirm-group =
    Отправить этот вопрос в приёмную комиссию? Ответ придёт в личный чат со мной, { $bot }.

    <blockquote>{ $question }</blockquote>
handoff-saved-group = ✅ Ваш вопрос сохранён для приёмной комиссии. Ответ придёт в личный чат со мной: откройте { $bot } и нажмите «Старт», чтобы я мог вам написать.
handoff-office-hours = 🕘 Приёмная комиссия отвечает { $days }, { $start }–{ $end } ({ $offset }). Сейчас нерабочее время: ответ придёт после открытия ({ $next }).
handoff-today = сегодня в { $time }
handoff-tomorrow = завтра в { $time }
handoff-on-day = { $day }, { $time }
weekday-0 = пн
weekday-1 = вт
weekday-2 = ср
weekday-3 = чт
weekday-4 = пт
weekday-5 = сб
weekday-6 = вс

staff-student-no-private-chat = ⚠️ Не доставлено: абитуриент ни разу не открывал личный чат с ботом, поэтому бот не может ему написать (в группы ответы не отправляются). Отправьте ответ ещё раз, когда абитуриент нажмёт «Старт» в личном чате с ботом.
staff-student-edited =
    ✏️ { $name } (id <code>{ NUMBER($user_id, useGrouping: 0) }</code>) изменил(а) это сообщение:
    <blockquote>{ $text }</blockquote>
staff-student-edited-media = ✏️ { $name } (id <code>{ NUMBER($user_id, useGrouping: 0) }</code>) изменил(а) это сообщение; новая версия:
handoff-in-private = Чтобы задать вопрос приёмной комиссии, напишите мне в личный чат: откройте { $bot } и отправьте /human.
