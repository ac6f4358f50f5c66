// The reference for trigger patterns: java.util.regex itself (run by java_regex.py, never by the tests).
//
// Reads one case per line on stdin, "<base64 UTF-8 pattern>\t<base64 UTF-8 message>", and writes
// one JSON object per line on stdout: Pattern.compile's refusal, or what Matcher.find() found
// (start in code points, the whole match, every numbered group, every named group), or null.
// Run with --add-opens java.base/java.util.regex=ALL-UNNAMED: Java 17 has no public namedGroups().

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

public final class RegexGoldens {
    public static void main(String[] args) throws Exception {
        Method namedGroups = Pattern.class.getDeclaredMethod("namedGroups");
        namedGroups.setAccessible(true);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        String line;
        while ((line = in.readLine()) != null) {
            String[] parts = line.split("\t", -1);
            String pattern = decode(parts[0]);
            String message = decode(parts[1]);
            out.println(run(pattern, message, namedGroups));
        }
    }

    private static String decode(String b64) {
        return new String(Base64.getDecoder().decode(b64), StandardCharsets.UTF_8);
    }

    @SuppressWarnings("unchecked")
    private static String run(String pattern, String message, Method namedGroups) throws Exception {
        Pattern compiled;
        try {
            compiled = Pattern.compile(pattern);
        } catch (PatternSyntaxException e) {
            return "{\"refused\": {\"description\": " + json(e.getDescription())
                + ", \"index\": " + e.getIndex() + "}}";
        }
        Matcher m = compiled.matcher(message);
        boolean found;
        try {
            found = m.find();
        } catch (RuntimeException | StackOverflowError e) {
            return "{\"thrown\": " + json(e.getClass().getName()) + "}";
        }
        if (!found) {
            return "{\"found\": null}";
        }
        StringBuilder sb = new StringBuilder("{\"found\": {\"start\": ");
        sb.append(message.codePointCount(0, m.start()));
        sb.append(", \"match\": ").append(json(m.group()));
        sb.append(", \"groups\": [");
        for (int g = 1; g <= m.groupCount(); g++) {
            if (g > 1) sb.append(", ");
            sb.append(json(m.group(g)));
        }
        sb.append("], \"named\": {");
        Map<String, Integer> names = new TreeMap<>((Map<String, Integer>) namedGroups.invoke(compiled));
        boolean first = true;
        for (Map.Entry<String, Integer> e : names.entrySet()) {
            if (!first) sb.append(", ");
            first = false;
            sb.append(json(e.getKey())).append(": ").append(json(m.group(e.getValue())));
        }
        return sb.append("}}}").toString();
    }

    private static String json(String s) {
        if (s == null) return "null";
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20 || c > 0x7e) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }
}
