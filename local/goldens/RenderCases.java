// Renders the template corpus with Apache FreeMarker (the reference engine) for `make goldens`.
// Input (stdin), one case a line, tab-separated, each field base64 (UTF-8):
//   id, template, metadata JSON, locale (en_US), time zone (UTC).
// Output (stdout), one line a case, tab-separated: id, nowMillis, kind, base64(text)
//   kind = ok (text = output) | missing | parse | error (text = FreeMarker's message).
// The configuration is Alfresco's: incompatible improvements 2.3.20, RETHROW handler,
// SAFER_RESOLVER for ?new, ?api off, the default object wrapper; the metadata is JSON with
// numbers as BigDecimal (exact decimal values), as the connector reads it.

import freemarker.core.InvalidReferenceException;
import freemarker.core.ParseException;
import freemarker.core.TemplateClassResolver;
import freemarker.template.Configuration;
import freemarker.template.Template;
import freemarker.template.TemplateException;
import freemarker.template.TemplateExceptionHandler;
import freemarker.template.Version;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TimeZone;

public final class RenderCases {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, true, "UTF-8");
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) continue;
            String[] f = line.split("\t", -1);
            String id = dec(f[0]);
            String source = dec(f[1]);
            Object data = new Json(dec(f[2])).value();
            String[] loc = dec(f[3]).split("_");
            TimeZone zone = TimeZone.getTimeZone(dec(f[4]));
            Configuration cfg = new Configuration(new Version(2, 3, 20));
            cfg.setTemplateExceptionHandler(TemplateExceptionHandler.RETHROW_HANDLER);
            cfg.setLogTemplateExceptions(false);
            cfg.setNewBuiltinClassResolver(TemplateClassResolver.SAFER_RESOLVER);
            cfg.setAPIBuiltinEnabled(false);
            cfg.setLocale(new Locale(loc[0], loc.length > 1 ? loc[1] : ""));
            cfg.setTimeZone(zone);
            cfg.setDefaultEncoding("UTF-8");
            String kind;
            String text;
            long now = System.currentTimeMillis();
            try {
                Template t = new Template(id, new StringReader(source), cfg);
                StringWriter w = new StringWriter();
                t.process(data, w);
                kind = "ok";
                text = w.toString();
            } catch (ParseException e) {
                kind = "parse";
                text = e.getMessage();
            } catch (InvalidReferenceException e) {
                kind = "missing";
                text = e.getMessage();
            } catch (TemplateException e) {
                kind = "error";
                text = e.getMessage();
            } catch (Exception e) {  // a Java exception escaping the engine: also an error
                kind = "error";
                text = e.toString();
            }
            out.println(enc(id) + "\t" + now + "\t" + kind + "\t" + enc(text));
        }
    }

    static String dec(String s) {
        return new String(Base64.getDecoder().decode(s), StandardCharsets.UTF_8);
    }

    static String enc(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /** A small JSON reader: objects keep their key order, numbers are BigDecimal. */
    static final class Json {
        private final String s;
        private int i;

        Json(String s) { this.s = s; }

        Object value() {
            ws();
            char c = s.charAt(i);
            if (c == '{') {
                Map<String, Object> m = new LinkedHashMap<>();
                i++; ws();
                if (s.charAt(i) == '}') { i++; return m; }
                while (true) {
                    ws(); String k = string(); ws(); i++; // ':'
                    m.put(k, value()); ws();
                    if (s.charAt(i++) == '}') return m;
                }
            }
            if (c == '[') {
                List<Object> l = new ArrayList<>();
                i++; ws();
                if (s.charAt(i) == ']') { i++; return l; }
                while (true) {
                    l.add(value()); ws();
                    if (s.charAt(i++) == ']') return l;
                }
            }
            if (c == '"') return string();
            if (s.startsWith("true", i)) { i += 4; return Boolean.TRUE; }
            if (s.startsWith("false", i)) { i += 5; return Boolean.FALSE; }
            if (s.startsWith("null", i)) { i += 4; return null; }
            int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
            return new BigDecimal(s.substring(start, i));
        }

        private String string() {
            StringBuilder b = new StringBuilder();
            i++; // opening quote
            while (true) {
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c != '\\') { b.append(c); continue; }
                char e = s.charAt(i++);
                switch (e) {
                    case 'n': b.append('\n'); break;
                    case 't': b.append('\t'); break;
                    case 'r': b.append('\r'); break;
                    case 'b': b.append('\b'); break;
                    case 'f': b.append('\f'); break;
                    case 'u': b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
                    default: b.append(e);
                }
            }
        }

        private void ws() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        }
    }
}
