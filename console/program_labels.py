"""Every field of the program's config as the marketer reads it: a Russian label and, where it
helps, a hint. Keys are the config's paths, ``*`` standing for a row of a list (a level, a
group, an earning rule, a step of the referral schedule). The editor's form and its diff take
their words from here only; a test checks that no field of :class:`ProgramConfig` lacks one."""

from __future__ import annotations


def _segment_labels(at: str) -> dict[str, tuple[str, str | None]]:
    """The words of a segment's fields (:class:`shared.domain.segments.Segment`) under ``at``."""
    return {
        at: ("Для кого", "Все условия вместе; пустые — без условия."),
        f"{at}.levels": ("Уровни", "Коды через запятую; пусто — все."),
        f"{at}.groups": ("Группы покупателей", "Коды через запятую; пусто — все."),
        f"{at}.birthday_days_before": ("День рождения: дней до", "Пусто в обоих полях — без условия; 0 и 0 — только в сам день."),
        f"{at}.birthday_days_after": ("День рождения: дней после", None),
        f"{at}.first_order": ("Только первый заказ", "У покупателя ещё нет оплаченных заказов."),
        f"{at}.last_purchase_before": ("Последняя покупка раньше (МСК)", None),
        f"{at}.paid_total_min": ("Сумма покупок от, ₽", None),
        f"{at}.paid_total_max": ("Сумма покупок до, ₽", None),
        f"{at}.registered_from": ("Зарегистрирован с (МСК)", None),
        f"{at}.registered_to": ("Зарегистрирован до (МСК)", None),
    }


#: path -> (label, hint or None)
LABELS: dict[str, tuple[str, str | None]] = {
    "program": ("Код программы", "Задан при подключении магазина и не меняется."),
    "name": ("Название программы", None),
    "currency": ("Валюта", None),
    "rounding": ("Округление начислений", "Бонусы за заказ округляются вниз один раз на заказ."),
    "levels": ("Уровни", "Первый уровень начинается с нуля, пороги идут по возрастанию."),
    "levels.*.code": ("Код уровня", "Латиница, цифры, «_», «-», «.»."),
    "levels.*.name": ("Название уровня", "Видят покупатели."),
    "levels.*.threshold": ("Порог входа, ₽", "Сумма оплаченных покупок, с которой начинается уровень."),
    "levels.*.accrual_percent": ("Начисление, %", "Процент от оплаченной суммы, от 0 до 100."),
    "levels.*.max_redeem_percent": ("Оплата бонусами, не более %", "Доля суммы заказа, которую можно оплатить бонусами (по умолчанию 50)."),
    "levels.*.privileges": ("Привилегии", "Через запятую; текст для покупателей."),
    "level_basis": ("Как считается уровень", None),
    "level_basis.kind": ("Сумма покупок", None),
    "level_basis.window_days": ("Окно, дней", "Для скользящего окна: за сколько последних дней считаются покупки."),
    "level_basis.downgrade": ("Понижать уровень", "Только при скользящем окне: уровень снижается, когда сумма за окно падает."),
    "groups": ("Группы покупателей", None),
    "groups.*.code": ("Код группы", "Латиница, цифры, «_», «-», «.»."),
    "groups.*.name": ("Название группы", None),
    "groups.*.bonuses_excluded": ("Без бонусов", "Покупатели группы не получают и не тратят бонусы."),
    "default_group": ("Группа по умолчанию", "Код группы, в которую попадает новый покупатель."),
    "coefficients": ("Коэффициенты начисления", None),
    "coefficients.product_groups": ("По группам товаров", "По строке на группу: «код = коэффициент», например «masks = 2»."),
    "coefficients.brands": ("По брендам", "По строке на бренд: «код = коэффициент»."),
    "coefficients.combine": ("Если подходят оба", None),
    "exclusions": ("Исключения", None),
    "exclusions.sale_items_earn": ("Товары по акции получают бонусы", None),
    "exclusions.sale_items_burn": ("Товары по акции можно оплатить бонусами", None),
    "exclusions.discount_on_reduced_price": ("Промокод на уже сниженную цену", None),
    "exclusions.gift_certificates_with_bonuses": ("Сертификат и бонусы в одном заказе", None),
    "exclusions.gift_certificates_earn": ("Подарочные сертификаты получают бонусы", None),
    "exclusions.excluded_product_groups": ("Группы товаров вне программы", "Коды через запятую."),
    "exclusions.excluded_brands": ("Бренды вне программы", "Коды через запятую."),
    "exclusions.promo": ("Заказы с промокодом", None),
    "exclusions.promo.earn": ("Начислять бонусы", None),
    "exclusions.promo.burn": ("Разрешать оплату бонусами", None),
    "exclusions.promo.accrual_percent": ("Особый процент начисления", "Если задан, заменяет процент уровня. Пусто — процент уровня."),
    "redemption": ("Списание бонусов", None),
    "redemption.min_bonuses": ("Минимум за раз, бонусов", None),
    "redemption.max_bonuses": ("Максимум за заказ, бонусов", "Пусто — без ограничения."),
    "redemption.min_order": ("Минимальная сумма заказа, ₽", None),
    "welcome": ("Приветственные бонусы", None),
    "welcome.standard": ("При регистрации, бонусов", None),
    "welcome.invited": ("Приглашённому другу, бонусов", None),
    "welcome.activation_days": ("Доступны через, дней", None),
    "welcome.lifetime_days": ("Сгорают через, дней", "Пусто — как у всех начислений."),
    "hold_days": ("Заморозка после доставки, дней", "Через сколько дней бонусы за покупку станут доступны."),
    "lot_lifetime_days": ("Срок жизни бонусов, дней", None),
    "referral": ("Партнёрская программа", None),
    "referral.enabled": ("Включена", None),
    "referral.schedule": ("Ставки партнёра", "Первая ставка — с нуля покупающих друзей, дальше по возрастанию."),
    "referral.schedule.*.from_paying_referees": ("С числа покупающих друзей", None),
    "referral.schedule.*.percent": ("Вознаграждение, %", None),
    "referral.hold_days": ("Заморозка вознаграждения, дней", "Пусто — как у покупок."),
    "referral.max_depth": ("Глубина", "Только прямые приглашения."),
    "clawback": ("Возвраты", None),
    "clawback.negative_balance": ("Если бонусов не хватает", None),
    "payouts": ("Выплаты партнёрам", None),
    "payouts.min_amount": ("Минимальная выплата, бонусов", None),
    "reservation_timeout_minutes": ("Резерв бонусов под заказ, минут", "Сколько держатся бонусы неоплаченного заказа."),
    "earning_rules": ("Бонусы за действия", None),
    "earning_rules.*.code": ("Код правила", None),
    "earning_rules.*.event": ("Событие", None),
    "earning_rules.*.amount": ("Бонусов", None),
    "earning_rules.*.activation_days": ("Доступны через, дней", None),
    "earning_rules.*.lifetime_days": ("Сгорают через, дней", "Пусто — как у всех начислений."),
    "earning_rules.*.active_from": ("Действует с (МСК)", None),
    "earning_rules.*.active_to": ("Действует до (МСК)", None),
    "earning_rules.*.groups": ("Только для групп", "Коды через запятую; пусто — для всех."),
    "earning_rules.*.registered_after": ("Зарегистрированы не раньше (МСК)", "Пусто — без ограничения."),
    "earning_rules.*.registered_before": ("Зарегистрированы до (МСК)", "Пусто — без ограничения."),
    "earning_rules.*.paid_total_min": ("Сумма покупок от, коп.", "Пусто — без ограничения."),
    "earning_rules.*.paid_total_max": ("Сумма покупок до, коп.", "Пусто — без ограничения."),
    "earning_rules.*.min_order_total": ("Сумма заказа от, коп.", "Для начислений за заказ."),
    "earning_rules.*.skus": ("Только товары (артикулы)", "Артикулы через запятую; пусто — все товары."),
    "earning_rules.*.categories": ("Только товарные группы", "Коды через запятую; пусто — все группы."),
    "earning_rules.*.max_per_period": ("Не больше начислений за период", "Пусто — без ограничения."),
    "earning_rules.*.period_days": ("Период, дней", None),
    "stickers": ("Коды со стикеров", None),
    "stickers.max_failures": ("Неверных кодов до блокировки", None),
    "stickers.block_minutes": ("Блокировка ввода, минут", None),
    "stickers.first_delay_seconds": ("Пауза после неверного кода, секунд", "Удваивается с каждой ошибкой."),
    "stickers.max_delay_seconds": ("Наибольшая пауза, секунд", None),
    "approvals": ("Пороги согласования", None),
    "approvals.adjustments_per_customer": ("Ручные начисления одному покупателю за сутки, бонусов", "Больше — ждёт согласования."),
    "approvals.adjustments_total": ("Ручные начисления всем за сутки, бонусов", "Больше — ждёт согласования."),
    "approvals.mass_accrual_total": ("Массовое начисление, бонусов", "Сумма × число покупателей больше порога — ждёт согласования."),
    "payments": ("Платежи", None),
    "payments.refund_lines_tolerance": ("Допуск частичного возврата, ₽", "Расхождение из-за округления чека."),
    "payments.yoomoney_max_fee_percent": ("Комиссия ЮMoney, не более %", None),
    "payments.receipt": ("Отправлять чек 54-ФЗ", None),
    "payments.receipt_vat_code": ("Код НДС в чеке", "1 — без НДС."),
    "payments.receipt_payment_subject": ("Предмет расчёта", None),
    "payments.receipt_payment_mode": ("Способ расчёта", None),
    "shipping": ("Доставка без отслеживания", None),
    "shipping.fallback_days": ("Считать доставленным через, дней", "По строке на способ доставки: «pickup = 3»."),
    "shipping.default_fallback_days": ("Для остальных способов, дней", "Пусто — ждать отметки перевозчика или менеджера."),
    "catalog": ("Каталог товаров", None),
    "catalog.missing_product": ("Товар не из каталога", None),
    "catalog.categories": ("Категории магазина → группы товаров", "По строке: «Маски = masks»."),
    "catalog.brands": ("Бренды магазина → бренды программы", "По строке: «Biomiq = biomiq»."),
    "catalog.gift_certificate": ("Подарочные сертификаты", None),
    "catalog.gift_certificate.categories": ("Категории сертификатов", "Через запятую."),
    "catalog.gift_certificate.field": ("Поле-признак в выгрузке", None),
    "campaigns": ("Акции", "Повышенное начисление на время: к строке применяется одна, самая выгодная акция."),
    "campaigns.*.code": ("Код акции", "Латиница, цифры, «_», «-», «.»."),
    "campaigns.*.name": ("Название акции", "Видят покупатели."),
    "campaigns.*.active_from": ("Действует с (МСК)", None),
    "campaigns.*.active_to": ("Действует до (МСК)", "Не включительно."),
    "campaigns.*.multiplier_percent": ("Множитель, %", "200 — двойные баллы; 100 — без множителя."),
    "campaigns.*.bonus_percent": ("Надбавка к кешбэку, п.п.", "Прибавляется к проценту уровня."),
    "campaigns.*.product_groups": ("Группы товаров", "Коды через запятую; пусто вместе с брендами и артикулами — все товары."),
    "campaigns.*.brands": ("Бренды", "Коды через запятую."),
    "campaigns.*.skus": ("Артикулы", "Через запятую."),
    "catalog.feed_url": ("Адрес YML-фида", "Только https; загружается при каждом обходе."),
    "messages": ("Сообщения покупателям", "Шаблоны с переменными в фигурных скобках, например «{amount}»."),
    "messages.expiry_soon.days_before": ("За сколько дней напомнить", None),
    "messages.abandoned_cart.hours": ("Через сколько часов напомнить", None),
    "messages.winback.days": ("Без заказов, дней", None),
    "messages.winback.bonus": ("Подарок, бонусов", None),
}

LABELS.update(_segment_labels("campaigns.*.audience"))

#: The messages' triggers as the marketer reads them.
TRIGGER_LABELS: dict[str, str] = {
    "referral_new": "Новый друг по ссылке",
    "referral_reward": "Вознаграждение за друга начислено",
    "referral_available": "Вознаграждение за друга доступно",
    "bonus_credited": "Бонусы начислены",
    "bonus_available": "Бонусы доступны",
    "expiry_soon": "Бонусы скоро сгорят",
    "level_changed": "Новый уровень",
    "birthday": "День рождения",
    "abandoned_cart": "Брошенная корзина",
    "winback": "Возврат ушедших",
    "payout_status": "Статус выплаты",
}
for _trigger, _title in TRIGGER_LABELS.items():
    _at = f"messages.{_trigger}"
    LABELS.update(
        {
            _at: (f"Сообщение «{_title}»", None),
            f"{_at}.enabled": ("Отправлять", None),
            f"{_at}.channels": ("Каналы", "Через запятую: sms, telegram, email. Покупатель может отключить любой."),
            f"{_at}.templates": ("Тексты", None),
            f"{_at}.templates.sms": ("Текст SMS", None),
            f"{_at}.templates.telegram": ("Текст в Telegram", None),
            f"{_at}.templates.email_subject": ("Тема письма", None),
            f"{_at}.templates.email_body": ("Текст письма", "Ссылка для отписки добавляется сама."),
            **_segment_labels(f"{_at}.segment"),
        }
    )
    LABELS[f"{_at}.segment"] = ("Кому отправлять", "Все условия вместе; пустые — всем, для кого сработало событие.")

#: Titles of a list's rows (``{n}``: the row's number).
ROW_TITLES: dict[str, str] = {
    "levels": "Уровень {n}",
    "groups": "Группа {n}",
    "earning_rules": "Правило {n}",
    "referral.schedule": "Ставка {n}",
    "campaigns": "Акция {n}",
}

#: What a value of a choice means.
CHOICES: dict[str, str] = {
    "true": "Да",
    "false": "Нет",
    "RUB": "Рубли",
    "floor": "Вниз",
    "lifetime": "За всё время",
    "rolling": "За скользящее окно",
    "multiply": "Перемножать",
    "max": "Брать больший",
    "allow_negative": "Уходить в минус (долг)",
    "refuse": "Отклонять корзину",
    "base_rate": "Начислять по базовой ставке",
    "first_order": "Первый заказ",
    "birthday": "День рождения",
    "review": "Отзыв",
    "newsletter": "Подписка на рассылку",
    "repost": "Репост",
    "sticker_code": "Код с наклейки",
    "commodity": "Товар",
    "service": "Услуга",
    "job": "Работа",
    "payment": "Платёж",
    "full_payment": "Полный расчёт",
    "full_prepayment": "Полная предоплата",
}
#: ``floor`` of the clawback reads differently from the rounding's.
CHOICES_AT: dict[tuple[str, str], str] = {("clawback.negative_balance", "floor"): "Не уходить ниже нуля (списать, что есть)"}

#: Fields in kopecks: the form shows and takes them in roubles.
MONEY = frozenset(
    {"levels.*.threshold", "redemption.min_order", "payments.refund_lines_tolerance"}
    | {f"{at}.{bound}" for at in ("campaigns.*.audience", *(f"messages.{t}.segment" for t in TRIGGER_LABELS)) for bound in ("paid_total_min", "paid_total_max")}
)

#: The domain's cross-field refusals, in Russian (matched by their beginning).
VALUE_ERRORS: dict[str, str] = {
    "window_days is required": "Для скользящего окна укажите число дней.",
    "downgrade needs a rolling": "Понижать уровень можно только при скользящем окне.",
    "max_bonuses must not be below": "Максимум не может быть меньше минимума.",
    "the first step must start at 0": "Первая ставка должна начинаться с 0 покупающих друзей.",
    "steps must have strictly ascending": "Число друзей в ставках должно строго возрастать.",
    "the first level must have threshold 0": "Порог первого уровня должен быть 0.",
    "level thresholds must be strictly ascending": "Пороги уровней должны строго возрастать.",
    "level codes must be unique": "Коды уровней не должны повторяться.",
    "group codes must be unique": "Коды групп не должны повторяться.",
    "codes must be unique": "Коды правил не должны повторяться.",
    "unknown groups": "Таких групп нет в программе.",
    "unknown levels": "Таких уровней нет в программе.",
    "paid_total_min must not be above": "Сумма «от» не может быть больше суммы «до».",
    "registered_from must be before": "Дата «с» должна быть раньше даты «до».",
    "is not one of the groups": "Такой группы нет в списке групп.",
    "must be ": "Код программы менять нельзя.",
}


def label(path: str) -> str:
    """The label of a path with or without row numbers (``levels.0.name`` -> «Название уровня»)."""
    found = LABELS.get(schema_path(path))
    return found[0] if found else path


def hint(path: str) -> str | None:
    found = LABELS.get(schema_path(path))
    return found[1] if found else None


def schema_path(path: str) -> str:
    """``levels.0.name`` -> ``levels.*.name``."""
    return ".".join("*" if part.isdigit() else part for part in path.split("."))


def choice(path: str, value: str) -> str:
    return CHOICES_AT.get((schema_path(path), value)) or CHOICES.get(value, value)
