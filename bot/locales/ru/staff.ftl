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
handoff-staff-unavailable = К сожалению, сейчас нельзя связаться с приёмной комиссией через бота. Обратитесь в приёмную комиссию через официальный сайт: { $website }.
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
