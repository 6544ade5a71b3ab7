# Передача вопроса приёмной комиссии и инструменты сотрудников.

unknown-command = Я не знаю такой команды. Отправьте /help, чтобы узнать, что я умею.
btn-handoff-send = ✅ Отправить в приёмную комиссию
btn-cancel = Отмена
handoff-confirm =
    Отправить этот вопрос в приёмную комиссию? Сотрудник ответит здесь.

    <blockquote>{ $question }</blockquote>
handoff-type-question = Напишите, пожалуйста, ваш вопрос для приёмной комиссии одним сообщением. Чтобы отменить, отправьте /cancel.
handoff-cancelled = Хорошо, ничего не отправлено.
handoff-banned = К сожалению, отправка вопросов приёмной комиссии через бота для вас недоступна. Обратитесь в приёмную комиссию через официальный сайт: { $website }.
handoff-closed-student = Приёмная комиссия завершила этот разговор. Спрашивайте меня о чём угодно или снова нажмите «Спросить приёмную комиссию», если нужен человек.
staff-handoff-header =
    🆘 <b>Вопрос от абитуриента</b>
    { $name } · id <code>{ NUMBER($user_id, useGrouping: 0) }</code> · язык: { $lang }
    <blockquote>{ $question }</blockquote>
    Предположение бота: { $guess }
    Ответьте на это сообщение (или напишите в этой теме), чтобы ответить; /close — завершить; /ban — запретить обращения.
staff-followup = 💬 { $name } (id <code>{ NUMBER($user_id, useGrouping: 0) }</code>) пишет:
staff-no-guess = нет
staff-student-blocked = ⚠️ Не доставлено: абитуриент заблокировал бота.
staff-not-delivered = ⚠️ Не доставлено: { $error }
staff-not-a-conversation = Чтобы ответить абитуриенту, ответьте на его сообщение (или напишите в его теме).
staff-closed = ✅ Разговор завершён, абитуриент уведомлён.
staff-already-closed = Этот разговор уже завершён.
staff-banned = 🚫 Абитуриент { NUMBER($user_id, useGrouping: 0) } больше не может отправлять вопросы сотрудникам.
staff-unbanned = Абитуриент { NUMBER($user_id, useGrouping: 0) } снова может отправлять вопросы сотрудникам.
staff-ban-usage = Используйте /ban или /unban в ответ на сообщение абитуриента или с его id: /ban 12345
staff-reload-ok =
    ✅ База знаний перезагружена.
    { $changes }
staff-reload-failed =
    ❌ База знаний НЕ перезагружена: ошибок — { $count }. Продолжает отвечать прежняя версия.
    { $errors }
staff-unanswered-title = ❓ <b>Вопросы без ответа и с 👎 за { $days } дн.</b>
staff-unanswered-empty = За последние { $days } дн. нет вопросов без ответа или с 👎.
staff-unanswered-group = { $count } × <i>{ $example }</i> [{ $lang }] → ближайшая запись: { $closest }
staff-usage-days = Укажите число дней, например: /stats 30

# /broadcast (bot.digest.broadcast, handlers/broadcast.py)
broadcast-usage =
    Как пользоваться: <code>/broadcast [tag:тема] [lang:en|ru] текст</code>
    Текст — в формате HTML Telegram (&lt;b&gt;, &lt;i&gt;, &lt;a href="…"&gt;…). Или ответьте командой <code>/broadcast</code> (можно с фильтрами) на сообщение — разошлём его текст или подпись.
broadcast-bad-filter = ❌ Непонятный фильтр <code>{ $filter }</code>. Используйте <code>tag:тема</code> и <code>lang:en</code> или <code>lang:ru</code> — каждый не больше одного раза и перед текстом.
broadcast-invalid-html =
    ❌ Не отправлено: Telegram не примет такой HTML.
    { $problems }
broadcast-rejected = ❌ Не отправлено: Telegram отклонил сообщение: { $error }
broadcast-unknown-topic = ❌ Темы <code>{ $tag }</code> нет. Доступные темы: { $topics }
broadcast-no-recipients = Ни один активный подписчик не подходит ({ $filters }): отправлять некому.
broadcast-filter-all = все подписчики
broadcast-filter-tag = тема { $tag }
broadcast-filter-lang = язык { $lang }
broadcast-preview =
    📣 <b>Предпросмотр рассылки</b>: { $parts ->
        [one] сообщение выше подписчики получат
       *[other] сообщения выше подписчики получат
    } ровно в таком виде.
    Получатели: { $count } { $count ->
        [one] активный подписчик
        [few] активных подписчика
       *[other] активных подписчиков
    } ({ $filters }).
    Отправить? Подтвердить рассылку можете только вы; предпросмотр действует { $minutes } { $minutes ->
        [one] минуту
        [few] минуты
       *[other] минут
    }.
btn-broadcast-send = ✅ Отправить ({ $count })
btn-broadcast-cancel = ✖️ Отмена
broadcast-cancelled = Рассылка отменена, ничего не отправлено.
broadcast-stale = Этот предпросмотр рассылки устарел или был отменён. Отправьте /broadcast ещё раз.
broadcast-not-yours = Подтвердить или отменить рассылку может только сотрудник, который её создал.
broadcast-already = Рассылка № { $id } уже подтверждена.
broadcast-started = 📣 Рассылка № { $id } подтверждена: отправляем { $count } { $count ->
        [one] подписчику
       *[other] подписчикам
    }…
broadcast-queued = 📣 Рассылка № { $id } подтверждена и поставлена в очередь: она уйдёт, как только её подхватит модуль рассылок (в течение минуты).
broadcast-progress =
    📣 Рассылка № { $id }: обработано { $done } из { $total } ({ $percent }%)
    доставлено { $sent } · ошибок { $failed } · заблокировали бота { $blocked }
broadcast-finished =
    ✅ Рассылка № { $id } завершена. Получателей: { $total }; доставлено: { $sent }, ошибок: { $failed }, заблокировали бота: { $blocked }{ $uncertain ->
        [0] {""}
       *[other] ; неизвестно: { $uncertain } (прервано во время отправки, повторно не отправлялось)
    }.
