// Dumps the locale data Java's formats use, for `make locale-data` (local/goldens/locale_data.py).
// Run with the JDK and settings that record the goldens (RenderCases: `java`, default
// java.locale.providers), so the values are those FreeMarker formats with.
// Input (stdin): the first line holds the time-zone IDs, tab-separated; then one locale a line
// (language or language_COUNTRY, built as RenderCases builds it: new Locale(language, country)),
// followed by a tab and "zones" when its time-zone names are wanted too.
// Output (stdout): one JSON object a locale: {"locale": ..., field: value, ...}, where each
// value is what a SimpleDateFormat / DecimalFormat of that locale produces:
//   date.S, time.S, datetime.D_T   the style patterns (S = short, medium, long, full)
//   months.format.abbreviated ...  M's format-context names (short, long), LLL and LLLL
//   days.abbreviated, days.wide    EEE, EEEE of Monday .. Sunday
//   ampm, eras                     a of 01:00 and 13:00; G of a BC and an AD date
//   decimal, group, minus, percent, permille, zero, currency_decimal, currency_group,
//   currency_symbol, currency_digits (and currency_min_digits, which the engine takes as equal)
//   pattern.number, pattern.currency, pattern.percent   DecimalFormat.toPattern()
//   zones: {ID: [z, zzzz of 15 January, z, zzzz of 15 July 2026 12:00 UTC]} for the IDs Java knows

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.text.DateFormat;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.text.NumberFormat;
import java.text.SimpleDateFormat;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.Calendar;
import java.util.Date;
import java.util.GregorianCalendar;
import java.util.List;
import java.util.Locale;
import java.util.TimeZone;

public final class LocaleData {
    static final String[] STYLES = {"full", "long", "medium", "short"};  // DateFormat.FULL = 0 ..
    static final TimeZone UTC = TimeZone.getTimeZone("UTC");

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, true, "UTF-8");
        String[] zones = in.readLine().split("\t");
        Set<String> known = new HashSet<>(Arrays.asList(TimeZone.getAvailableIDs()));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) continue;
            boolean withZones = line.endsWith("\tzones");
            line = line.split("\t")[0];
            String[] parts = line.split("_");
            Locale locale = new Locale(parts[0], parts.length > 1 ? parts[1] : "");
            StringBuilder b = new StringBuilder("{");
            field(b, "locale", str(line));
            for (int d = 0; d < 4; d++) {
                field(b, "date." + STYLES[d], str(pattern(DateFormat.getDateInstance(d, locale))));
                field(b, "time." + STYLES[d], str(pattern(DateFormat.getTimeInstance(d, locale))));
                for (int t = 0; t < 4; t++) {
                    field(b, "datetime." + STYLES[d] + "_" + STYLES[t],
                          str(pattern(DateFormat.getDateTimeInstance(d, t, locale))));
                }
            }
            // SimpleDateFormat's M is the calendar's format-context name (stand-alone when the
            // month is the pattern's only field, which the engine knows); L the stand-alone one.
            GregorianCalendar calendar = new GregorianCalendar(UTC, locale);
            int[][] monthStyles = {{Calendar.SHORT_FORMAT}, {Calendar.LONG_FORMAT}};
            String[] monthFields = {"months.format.abbreviated", "months.format.wide"};
            for (int i = 0; i < 2; i++) {
                List<String> names = new ArrayList<>();
                for (int month = 0; month < 12; month++) {
                    calendar.setTime(utc(2026, month, 15, 12));
                    names.add(calendar.getDisplayName(Calendar.MONTH, monthStyles[i][0], locale));
                }
                field(b, monthFields[i], list(names));
            }
            String[][] standalone = {{"months.stand-alone.abbreviated", "LLL"}, {"months.stand-alone.wide", "LLLL"}};
            for (String[] m : standalone) {
                List<String> names = new ArrayList<>();
                for (int month = 0; month < 12; month++) {
                    names.add(format(m[1], locale, UTC, utc(2026, month, 15, 12)));
                }
                field(b, m[0], list(names));
            }
            String[][] days = {{"days.abbreviated", "EEE"}, {"days.wide", "EEEE"}};
            for (String[] d : days) {
                List<String> names = new ArrayList<>();
                for (int day = 0; day < 7; day++) {  // 5 January 2026 is a Monday
                    names.add(format(d[1], locale, UTC, utc(2026, 0, 5 + day, 12)));
                }
                field(b, d[0], list(names));
            }
            field(b, "ampm", list(List.of(
                format("a", locale, UTC, utc(2026, 0, 5, 1)), format("a", locale, UTC, utc(2026, 0, 5, 13)))));
            GregorianCalendar bc = new GregorianCalendar(UTC);
            bc.clear();
            bc.set(GregorianCalendar.ERA, GregorianCalendar.BC);
            bc.set(100, 0, 1);
            field(b, "eras", list(List.of(
                format("G", locale, UTC, bc.getTime()), format("G", locale, UTC, utc(2026, 0, 5, 12)))));
            DecimalFormatSymbols sym = DecimalFormatSymbols.getInstance(locale);
            field(b, "decimal", str(String.valueOf(sym.getDecimalSeparator())));
            field(b, "group", str(String.valueOf(sym.getGroupingSeparator())));
            // The texts DecimalFormat writes for -, % and per mille (a bidi mark may come with one).
            field(b, "minus", str(new DecimalFormat("0", sym).getNegativePrefix()));
            field(b, "percent", str(new DecimalFormat("0%", sym).getPositiveSuffix()));
            field(b, "permille", str(new DecimalFormat("0\u2030", sym).getPositiveSuffix()));
            field(b, "zero", str(String.valueOf(sym.getZeroDigit())));
            field(b, "currency_decimal", str(String.valueOf(sym.getMonetaryDecimalSeparator())));
            field(b, "currency_group", str(String.valueOf(sym.getMonetaryGroupingSeparator())));
            DecimalFormat currency = (DecimalFormat) NumberFormat.getCurrencyInstance(locale);
            field(b, "currency_symbol", str(currency.getDecimalFormatSymbols().getCurrencySymbol()));
            field(b, "currency_digits", String.valueOf(currency.getMaximumFractionDigits()));
            field(b, "currency_min_digits", String.valueOf(currency.getMinimumFractionDigits()));
            field(b, "pattern.number", str(((DecimalFormat) NumberFormat.getInstance(locale)).toPattern()));
            field(b, "pattern.currency", str(currency.toPattern()));
            field(b, "pattern.percent", str(((DecimalFormat) NumberFormat.getPercentInstance(locale)).toPattern()));
            StringBuilder z = new StringBuilder("{");
            for (String id : withZones ? zones : new String[0]) {
                if (!known.contains(id)) continue;  // Java would format it as GMT
                TimeZone zone = TimeZone.getTimeZone(id);
                List<String> names = new ArrayList<>();
                for (Date when : List.of(utc(2026, 0, 15, 12), utc(2026, 6, 15, 12))) {
                    names.add(format("z", locale, zone, when));
                    names.add(format("zzzz", locale, zone, when));
                }
                field(z, id, list(names));
            }
            z.append('}');
            field(b, "zones", z.toString());
            b.append('}');
            out.println(b);
        }
    }

    static String pattern(DateFormat format) {
        return ((SimpleDateFormat) format).toPattern();
    }

    static Date utc(int year, int month, int day, int hour) {
        GregorianCalendar c = new GregorianCalendar(UTC);
        c.clear();
        c.set(year, month, day, hour, 0, 0);
        return c.getTime();
    }

    static String format(String pattern, Locale locale, TimeZone zone, Date when) {
        SimpleDateFormat f = new SimpleDateFormat(pattern, locale);
        f.setTimeZone(zone);
        return f.format(when);
    }

    static void field(StringBuilder b, String name, String json) {
        if (b.length() > 1) b.append(',');
        b.append(str(name)).append(':').append(json);
    }

    static String list(List<String> items) {
        StringBuilder b = new StringBuilder("[");
        for (String item : items) {
            if (b.length() > 1) b.append(',');
            b.append(str(item));
        }
        return b.append(']').toString();
    }

    static String str(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }
}
